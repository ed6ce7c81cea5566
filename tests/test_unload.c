/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu-compat in a plugin: a program that does not link urcu-compat
 * (only liburcu) loads and unloads, with dlopen() and dlclose(), a plugin
 * that does, over and over, as a daemon does with its plugins. Whatever
 * the library made (a thread-specific key, a helper thread, rendezvous
 * callbacks of a barrier that gave up) must neither pile up from one
 * load to the next nor outlive the library's code.
 *
 * Cycles: most only load and unload; some have the plugin create a
 * worker, queue callbacks on it, wait for them and stop the worker, whose
 * thread must be joined exactly once (the harness logs every join);
 * one has it start a bounded barrier behind a callback of this program
 * that blocks, which is released once the plugin is unloaded. After more
 * loads than a process has thread-specific keys, one must still be free.
 */
#include "unload.h"

#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define CYCLES		1100	/* more than PTHREAD_KEYS_MAX (1024) */
#ifndef BLOCKED_CYCLE		/* -1 by hand: no cycle blocks */
#define BLOCKED_CYCLE	3
#endif

static const char *plugin;

/* Cycles that make the plugin work: a few at first, then every 100th, the last ones. */
static int work_cycle(int i)
{
	return i < 3 || i % 100 == 0 || i >= CYCLES - 5;
}

/* ---------------------------------------------------------------- */
/* The program's callbacks: they outlive the plugin                  */
/* ---------------------------------------------------------------- */

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_cond = PTHREAD_COND_INITIALIZER;
static int released, marker_ran;
static struct rcu_head blocked_head, marker_head;

static void blocked_cb(struct rcu_head *head)
{
	(void)head;
	pthread_mutex_lock(&cb_lock);
	while (!released)
		pthread_cond_wait(&cb_cond, &cb_lock);
	pthread_mutex_unlock(&cb_lock);
}

static void marker_cb(struct rcu_head *head)
{
	(void)head;
	pthread_mutex_lock(&cb_lock);
	marker_ran = 1;
	pthread_cond_broadcast(&cb_cond);
	pthread_mutex_unlock(&cb_lock);
}

/*
 * Release the blocked callback, then wait for a callback queued behind
 * it on the same worker: what the plugin's barrier queued there has run.
 */
static void release_and_wait(void)
{
	pthread_mutex_lock(&cb_lock);
	released = 1;
	pthread_cond_broadcast(&cb_cond);
	pthread_mutex_unlock(&cb_lock);
	call_rcu(&marker_head, marker_cb);
#if defined(URCU_COMPAT_FLAVOR_QSBR)
	rcu_thread_offline();
#endif
	pthread_mutex_lock(&cb_lock);
	while (!marker_ran)
		pthread_cond_wait(&cb_cond, &cb_lock);
	pthread_mutex_unlock(&cb_lock);
#if defined(URCU_COMPAT_FLAVOR_QSBR)
	rcu_thread_online();
#endif
}

/* ---------------------------------------------------------------- */

static void test_plugin_load_unload_cycles(void **state)
{
	struct unload_cycle c;
	unload_cycle_fn cycle;
	pthread_key_t key;
	void *handle, *sym;
	unsigned int mark, end, joins;
	int i, ret;

	(void)state;
	for (i = 0; i < CYCLES; i++) {
		handle = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
		if (!handle)
			printf("# dlopen: %s\n", dlerror());
		assert_non_null(handle);
		sym = dlsym(handle, UNLOAD_CYCLE_FN);
		assert_non_null(sym);
		memcpy(&cycle, &sym, sizeof(cycle));
		memset(&c, 0, sizeof(c));
		c.work = work_cycle(i);
		c.block = i == BLOCKED_CYCLE;
		c.blocked_head = &blocked_head;
		c.blocked_cb = blocked_cb;
		mark = join_mark();
		ret = cycle(&c);
		end = join_mark();
		assert_int_equal(dlclose(handle), 0);
		if (ret)
			printf("# cycle %d: step %d of the plugin failed\n", i, ret);
		assert_int_equal(ret, 0);
		if (c.block)
			release_and_wait();
		if (!c.work)
			continue;
		joins = joins_of_between(c.worker, mark, end, NULL);
		if (joins != 1)
			printf("# cycle %d: the worker's thread was joined %u times\n", i, joins);
		assert_int_equal(joins, 1);
	}
	/* The loads left no thread-specific key behind. */
	ret = pthread_key_create(&key, NULL);
	if (ret)
		printf("# after %d loads, pthread_key_create() failed: %s\n", CYCLES, strerror(ret));
	assert_int_equal(ret, 0);
	pthread_key_delete(key);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plugin_load_unload_cycles),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PLUGIN\n", argv[0]);
		return 2;
	}
	plugin = argv[1];
	return cmocka_run_group_tests_name("urcu_compat in a plugin", tests, harness_setup, harness_teardown);
}
