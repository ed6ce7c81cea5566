/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the tests: the flavor header, then urcu-compat.h. A test's
 * expectations come from what the header decided (URCU_COMPAT_NATIVE_BARRIER,
 * URCU_COMPAT_FLAVOR_NAME), never from the build's mode: the same "native"
 * build uses the emulation on liburcu 0.7.
 */
#ifndef TESTS_COMMON_H
#define TESTS_COMMON_H

#define _GNU_SOURCE
/* The flavor: the header includes the one URCU_COMPAT_FLAVOR_* names. */
#include <urcu-compat.h>
/* Left alone by urcu-compat.h, and defined from 0.8 on, as rcu_barrier(). */
#ifdef rcu_read_ongoing
#define TEST_URCU_HAS_RCU_BARRIER 1	/* liburcu 0.8 or newer */
#else
#define TEST_URCU_HAS_RCU_BARRIER 0	/* liburcu 0.7 */
#endif

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#if URCU_COMPAT_NATIVE_BARRIER
#define TEST_MODE_NAME "native"
#else
#define TEST_MODE_NAME "emulated"
#endif

/*
 * The library and the header agree on the mode, and the header took the
 * right one: the emulation when forced, otherwise liburcu's own barrier
 * exactly where liburcu has one.
 */
static inline void assert_mode_is_the_headers(void)
{
	assert_int_equal(urcu_compat_native_barrier(), URCU_COMPAT_NATIVE_BARRIER);
#if URCU_COMPAT_FORCE_EMULATION
	assert_int_equal(URCU_COMPAT_NATIVE_BARRIER, 0);
#else
	assert_int_equal(URCU_COMPAT_NATIVE_BARRIER, TEST_URCU_HAS_RCU_BARRIER);
#endif
}

/*
 * liburcu 0.7's signal flavor asserts at exit that no reader is still
 * registered, and its call_rcu workers are, so a process that used
 * call_rcu() aborts there; one stuck in a callback can never unregister.
 * rcu_read_ongoing is a macro from 0.8 on.
 */
#if !URCU_COMPAT_IS_QSBR && !defined(_URCU_BP_H) && \
	(defined(_URCU_SIGNAL_H) || defined(RCU_SIGNAL)) && !defined(rcu_read_ongoing)
#define EXIT_ABORTS_IN_LIBURCU	1
#else
#define EXIT_ABORTS_IN_LIBURCU	0
#endif

/*
 * A scenario's process left by itself with exit status want, or, where
 * liburcu aborts at exit (above), with that abort.
 */
static inline void assert_scenario_exited(const struct scenario_run *run, int want)
{
	assert_false(run->hung);
	if (EXIT_ABORTS_IN_LIBURCU && WIFSIGNALED(run->status)) {
		printf("# liburcu 0.7 signal flavor: aborted at exit, "
		       "with call_rcu workers still registered\n");
		assert_int_equal(WTERMSIG(run->status), SIGABRT);
		return;
	}
	assert_true(WIFEXITED(run->status));
	assert_int_equal(WEXITSTATUS(run->status), want);
}

#if URCU_COMPAT_IS_QSBR
/*
 * Whether the calling QSBR thread is online (qsbr_online.c: liburcu 0.7
 * has no rcu_read_ongoing(), its reader state is read there).
 */
int test_qsbr_online(void);
#endif

/* QSBR threads must be offline whenever they block. */
static inline void test_offline(void)
{
#if URCU_COMPAT_IS_QSBR
	rcu_thread_offline();
#endif
}

static inline void test_online(void)
{
#if URCU_COMPAT_IS_QSBR
	rcu_thread_online();
#endif
}

static inline void test_quiescent(void)
{
#if URCU_COMPAT_IS_QSBR
	rcu_quiescent_state();
#endif
}

static inline void gate_pass(struct gate *g)
{
	test_offline();
	gate_enter_and_wait(g);
	test_online();
}

static inline void gate_mark_entered(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static inline void gate_wait_entered(struct gate *g)
{
	test_offline();
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	test_online();
}

static inline void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* A gate in memory that is not zero-initialised or is used again. */
static inline void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

/* Join a thread; QSBR callers go offline meanwhile. */
static inline void test_join(pthread_t tid)
{
	test_offline();
	pthread_join(tid, NULL);
	test_online();
}

/*
 * Stop the per-CPU workers and join their threads (liburcu's own
 * free_all_cpu_call_rcu_data() leaves them unjoined on some releases).
 * QSBR: offline while liburcu's call_rcu mutex may block the caller (a
 * fork with liburcu's hooks holds it until every worker pauses, and a
 * worker may be waiting for a grace period: on liburcu 0.7 a new worker
 * runs one as soon as it starts).
 */
static inline void free_cpu_workers(void)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	struct call_rcu_data *crdp[256];

	test_offline();
	for (cpu = 0; cpu < ncpus && cpu < 256; cpu++) {
		rcu_read_lock();
		crdp[cpu] = get_cpu_call_rcu_data((int)cpu);
		rcu_read_unlock();
		if (crdp[cpu])
			set_cpu_call_rcu_data((int)cpu, NULL);
	}
	test_online();
	synchronize_rcu();
	for (cpu = 0; cpu < ncpus && cpu < 256; cpu++)
		urcu_compat_call_rcu_data_free(crdp[cpu]);
}

/* A counted callback: adds one to *counter, then frees itself. */
struct counted {
	struct rcu_head head;
	unsigned long *counter;
	struct call_rcu_data *expect;	/* the worker meant to run it */
	unsigned long *moved;		/* counts runs elsewhere */
};

static inline void counted_cb(struct rcu_head *head)
{
	struct counted *c = caa_container_of(head, struct counted, head);

	if (c->moved && get_thread_call_rcu_data() != c->expect)
		uatomic_inc(c->moved);
	uatomic_inc(c->counter);
	free(c);
}

/* Queue n counted callbacks without cmocka (threads, children): 0, or -1. */
static inline int try_queue_counted(unsigned long *counter, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct counted *c = calloc(1, sizeof(*c));

		if (!c)
			return -1;
		c->counter = counter;
		call_rcu(&c->head, counted_cb);
	}
	return 0;
}

static inline void queue_counted(unsigned long *counter)
{
	assert_int_equal(try_queue_counted(counter, 1), 0);
}

/* QSBR: an online caller is back online after the library returned. */
static inline void assert_online_again(void)
{
#if URCU_COMPAT_IS_QSBR
	assert_true(test_qsbr_online());
#endif
}

/* A bound never reached: the test's timeout comes first. */
#define GENEROUS_MS	3600000U

/*
 * A callback that blocks on its gate until the test opens it. Static
 * storage: a fork() child that inherits it blocked still reaches it.
 */
struct gated {
	struct rcu_head head;
	struct gate gate;
	unsigned long *passed;	/* counts the callbacks that got through */
};

static inline void gated_cb(struct rcu_head *head)
{
	struct gated *g = caa_container_of(head, struct gated, head);

	gate_pass(&g->gate);
	if (g->passed)
		uatomic_inc(g->passed);
}

/* Queue g and wait until the worker it went to is blocked in it. */
static inline void block_worker_on(struct gated *g, unsigned long *passed)
{
	gate_init(&g->gate);
	g->passed = passed;
	call_rcu(&g->head, gated_cb);
	gate_wait_entered(&g->gate);
}

/*
 * Block the default worker on dflt and a new worker of this thread's on
 * own, 20 counted callbacks queued behind each; returns that worker.
 */
static inline struct call_rcu_data *block_default_and_own(struct gated *dflt,
		struct gated *own, unsigned long *ran, unsigned long *passed)
{
	struct call_rcu_data *crdp;
	int i;

	block_worker_on(dflt, passed);
	for (i = 0; i < 20; i++)
		queue_counted(ran);
	crdp = create_call_rcu_data(0, -1);
	assert_non_null(crdp);
	set_thread_call_rcu_data(crdp);
	block_worker_on(own, passed);
	for (i = 0; i < 20; i++)
		queue_counted(ran);
	set_thread_call_rcu_data(NULL);
	return crdp;
}

/*
 * The gates block_default_and_own() is given in the test process
 * (harness.c); open_gates(), as a test's teardown, opens them when a
 * failed test left them shut.
 */
extern struct gated dflt_gated, own_gated;
int open_gates(void **state);

/* Run body-less worker threads: start n threads of fn(arg[i]). */
static inline void run_threads(int n, void *(*fn)(void *), void *args, size_t argsize)
{
	pthread_t tids[64];
	int i;

	assert_true(n <= 64);
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&tids[i], NULL, fn,
						(char *)args + i * argsize), 0);
	for (i = 0; i < n; i++)
		test_join(tids[i]);
}

#endif
