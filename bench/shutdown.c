/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shutdown in the multipathd pattern: a worker of the main thread's own,
 * callbacks queued on it, then the cleanup. Built twice (memb flavor):
 *
 *   shutdown-compat-{native,emul} [callbacks]
 *       with urcu-compat.h: rcu_barrier(), detach, synchronize_rcu(),
 *       urcu_compat_call_rcu_data_free();
 *   shutdown-plain [callbacks] [join]
 *       liburcu alone: rcu_barrier() (0.8+), detach, synchronize_rcu(),
 *       call_rcu_data_free(), then pthread_join() when the second
 *       argument is 1: what the release needs, decided by the caller
 *       (bench/shutdown.py) from the release's number.
 *
 * Prints one line: "cycle_ms C cleanup_ms T start_ns S" where C is one
 * worker cycle measured first (a callback queued on the idle worker, until
 * it ran), T the cleanup (from before rcu_barrier() to the return of the
 * stop) and S the CLOCK_MONOTONIC time the cleanup began, so that the
 * caller can time the rest of the process until its exit.
 */
#define _GNU_SOURCE
#include <urcu.h>
#ifndef BENCH_PLAIN
#include <urcu-compat.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ran;

static void signal_cb(struct rcu_head *head)
{
	(void)head;
	pthread_mutex_lock(&lock);
	ran = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static void free_cb(struct rcu_head *head)
{
	free(head);
}

int main(int argc, char **argv)
{
	int i, callbacks = argc > 1 ? atoi(argv[1]) : 100;
	int join = argc > 2 && atoi(argv[2]);
	struct call_rcu_data *crdp;
	struct rcu_head cycle_head;
	struct timespec start;
	pthread_t tid;
	double t0, cycle, cleanup;

	rcu_register_thread();
	crdp = create_call_rcu_data(0, -1);
	if (!crdp)
		return 1;
	tid = get_call_rcu_thread(crdp);
	set_thread_call_rcu_data(crdp);

	/*
	 * One worker cycle: a callback queued on the idle worker, until it
	 * ran. The first one finds the worker starting up: the second counts.
	 */
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		ran = 0;
		call_rcu(&cycle_head, signal_cb);
		pthread_mutex_lock(&lock);
		while (!ran)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		cycle = now_ms() - t0;
	}

	for (i = 0; i < callbacks; i++) {
		struct rcu_head *head = malloc(sizeof(*head));

		if (!head)
			return 1;
		call_rcu(head, free_cb);
	}

	/* The cleanup. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	t0 = now_ms();
#ifndef BENCH_PLAIN
	rcu_barrier();
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);
	(void)join;
	(void)tid;
#else
#ifdef rcu_barrier
	rcu_barrier();
#endif
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	call_rcu_data_free(crdp);
	if (join && pthread_join(tid, NULL))
		return 2;
#endif
	cleanup = now_ms() - t0;
	rcu_unregister_thread();
	printf("cycle_ms %.3f cleanup_ms %.3f start_ns %lld\n", cycle, cleanup,
	       (long long)start.tv_sec * 1000000000LL + start.tv_nsec);
	fflush(stdout);
	return 0;
}
