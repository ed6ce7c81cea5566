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
 * thread must be joined exactly once (pthread_join() is interposed here);
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
/* pthread_join() interposer: joins of one thread                    */
/* ---------------------------------------------------------------- */

#define JOIN_LOG_MAX	4096

static pthread_mutex_t join_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t join_log[JOIN_LOG_MAX];
static unsigned int join_calls;
static int (*real_join)(pthread_t, void **);

int pthread_join(pthread_t tid, void **retval)
{
	void *sym;

	pthread_mutex_lock(&join_lock);
	if (!real_join) {
		sym = dlsym(RTLD_NEXT, "pthread_join");
		if (!sym)
			abort();
		memcpy(&real_join, &sym, sizeof(real_join));
	}
	if (join_calls < JOIN_LOG_MAX)
		join_log[join_calls] = tid;
	join_calls++;
	pthread_mutex_unlock(&join_lock);
	return real_join(tid, retval);
}

static unsigned int join_mark(void)
{
	unsigned int mark;

	pthread_mutex_lock(&join_lock);
	mark = join_calls;
	pthread_mutex_unlock(&join_lock);
	return mark;
}

/*
 * Joins of tid between two marks (a pthread_t is reused once its thread
 * was joined); UINT_MAX, which no check accepts, on overflow.
 */
static unsigned int joins_of_between(pthread_t tid, unsigned int mark, unsigned int end)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&join_lock);
	if (join_calls > JOIN_LOG_MAX)
		n = UINT_MAX;
	for (i = mark; n != UINT_MAX && i < end; i++)
		if (pthread_equal(join_log[i], tid))
			n++;
	pthread_mutex_unlock(&join_lock);
	return n;
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
		joins = joins_of_between(c.worker, mark, end);
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

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	/*
	 * liburcu 0.7 - 0.13.2 never stop the default worker. Created here,
	 * before any thread was joined, it gets a stack of its own, so that
	 * valgrind.supp recognises its thread block by where it was made.
	 */
	return get_default_call_rcu_data() ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rcu_unregister_thread();
	return 0;
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
	return cmocka_run_group_tests_name("urcu_compat in a plugin", tests, setup, teardown);
}
