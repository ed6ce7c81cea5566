/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo.c - rcu_barrier() over several call_rcu workers, written once for
 * every liburcu release: no #if, no -D flag needed.
 *
 * It queues counted callbacks on the default worker, on every per-CPU
 * worker and on a worker of its own, calls rcu_barrier(), and checks
 * that every one of them has run when it returns. Exit status 0 when
 * they all ran, 1 otherwise.
 */
#define _GNU_SOURCE
#include <urcu.h>
#include <urcu-compat.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CALLBACKS_PER_WORKER	100

enum kind { KIND_DEFAULT, KIND_CPU, KIND_OWN, NR_KINDS };

static const char *const kind_name[NR_KINDS] = {
	[KIND_DEFAULT]	= "default worker",
	[KIND_CPU]	= "per-CPU workers",
	[KIND_OWN]	= "own thread worker",
};

static unsigned long queued[NR_KINDS];
static unsigned long ran[NR_KINDS];
static unsigned long ran_elsewhere[NR_KINDS];
static unsigned int workers[NR_KINDS];

struct demo_cb {
	struct rcu_head head;
	enum kind kind;
	struct call_rcu_data *worker;	/* the worker it was queued on */
};

static void demo_cb_run(struct rcu_head *head)
{
	struct demo_cb *cb = caa_container_of(head, struct demo_cb, head);

	/* A worker's thread has itself as its call_rcu data. */
	if (get_thread_call_rcu_data() != cb->worker)
		uatomic_inc(&ran_elsewhere[cb->kind]);
	uatomic_inc(&ran[cb->kind]);
	free(cb);
}

/* Queue n callbacks on crdp, the way any thread does: its own worker. */
static int queue_on(struct call_rcu_data *crdp, enum kind kind, int n)
{
	struct call_rcu_data *saved = get_thread_call_rcu_data();
	struct demo_cb *cb;
	int i;

	set_thread_call_rcu_data(crdp);
	for (i = 0; i < n; i++) {
		cb = malloc(sizeof(*cb));
		if (!cb)
			break;
		cb->kind = kind;
		cb->worker = crdp;
		queued[kind]++;
		call_rcu(&cb->head, demo_cb_run);
	}
	set_thread_call_rcu_data(saved);
	workers[kind]++;
	return i == n ? 0 : -1;
}

static double ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1e3 +
		(now.tv_nsec - start->tv_nsec) / 1e6;
}

int main(void)
{
	struct call_rcu_data *own, *crdp;
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long total_queued = 0, total_ran = 0, pending = 0;
	struct timespec start;
	int i, ret = 0;

	rcu_register_thread();
	printf("liburcu flavor:  %s\n", URCU_COMPAT_FLAVOR_NAME);
	printf("detected mode:   %s\n", urcu_compat_native_barrier() ?
	       "native rcu_barrier() of liburcu" : "emulated rcu_barrier()");

	if (create_all_cpu_call_rcu_data(0)) {
		perror("create_all_cpu_call_rcu_data");
		return 1;
	}
	own = create_call_rcu_data(0, -1);
	if (!own) {
		perror("create_call_rcu_data");
		return 1;
	}

	/* The default worker, as a thread without a worker of its own gets it. */
	if (queue_on(get_default_call_rcu_data(), KIND_DEFAULT, CALLBACKS_PER_WORKER))
		ret = 1;
	/* Every CPU's worker. */
	for (cpu = 0; cpu < ncpus; cpu++) {
		rcu_read_lock();
		crdp = get_cpu_call_rcu_data((int)cpu);
		if (crdp && queue_on(crdp, KIND_CPU, CALLBACKS_PER_WORKER))
			ret = 1;
		rcu_read_unlock();
	}
	/* This thread's own worker: from now on its call_rcu() goes there. */
	set_thread_call_rcu_data(own);
	if (queue_on(own, KIND_OWN, CALLBACKS_PER_WORKER))
		ret = 1;

	for (i = 0; i < NR_KINDS; i++)
		pending += queued[i] - uatomic_read(&ran[i]);
	printf("callbacks queued: %lu on %u workers, %lu not run yet\n",
	       queued[KIND_DEFAULT] + queued[KIND_CPU] + queued[KIND_OWN],
	       workers[KIND_DEFAULT] + workers[KIND_CPU] + workers[KIND_OWN], pending);
	clock_gettime(CLOCK_MONOTONIC, &start);
	rcu_barrier();
	printf("rcu_barrier() returned after %.1f ms\n", ms_since(&start));

	/* Read the counts once; callbacks queued before the barrier are done. */
	for (i = 0; i < NR_KINDS; i++) {
		unsigned long r = uatomic_read(&ran[i]);
		unsigned long e = uatomic_read(&ran_elsewhere[i]);

		printf("  %-18s %2u worker%s  queued %5lu  ran %5lu%s\n",
		       kind_name[i], workers[i], workers[i] == 1 ? " " : "s",
		       queued[i], r, e ? "  (some on another worker)" : "");
		total_queued += queued[i];
		total_ran += r;
		if (r != queued[i] || e)
			ret = 1;
	}
	if (ret)
		printf("FAILED: %lu of %lu callbacks ran before rcu_barrier() returned\n",
		       total_ran, total_queued);
	else
		printf("OK: all %lu callbacks ran before rcu_barrier() returned\n",
		       total_queued);

	/* Stop the workers this program created. */
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(own);
	free_all_cpu_call_rcu_data();
	rcu_unregister_thread();
	return ret;
}
