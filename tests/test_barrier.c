/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu_compat_barrier() and rcu_barrier(): every callback queued before
 * the call has run when it returns, on every kind of worker, under races
 * with writers, worker churn, other barriers and fork(); misuse is
 * refused without waiting. urcu_compat_barrier_timeout() gives up behind
 * a blocked callback and recovers.
 */
#include "common.h"

#include <sched.h>

static void test_native_barrier_is_the_headers(void **state)
{
	(void)state;
	assert_mode_is_the_headers();
}

static void test_barrier_covers_default_worker(void **state)
{
	unsigned long ran = 0;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 100);

	for (i = 0; i < 50; i++)
		queue_counted(&ran);
	rcu_barrier();
	assert_int_equal(uatomic_read(&ran), 150);
}

static void test_barrier_covers_cpu_workers(void **state)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long ran = 0, queued = 0;
	struct call_rcu_data *crdp;
	int i;

	(void)state;
	assert_int_equal(create_all_cpu_call_rcu_data(0), 0);
	/* Queue on every CPU's worker, then from this thread (per-CPU choice). */
	for (cpu = 0; cpu < ncpus; cpu++) {
		rcu_read_lock();
		crdp = get_cpu_call_rcu_data((int)cpu);
		rcu_read_unlock();
		assert_non_null(crdp);
		set_thread_call_rcu_data(crdp);
		for (i = 0; i < 20; i++, queued++)
			queue_counted(&ran);
		set_thread_call_rcu_data(NULL);
	}
	for (i = 0; i < 20; i++, queued++)
		queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), queued);
	free_cpu_workers();
}

/*
 * liburcu's free_all_cpu_call_rcu_data() moves what the per-CPU workers
 * still hold to the default worker. Run in a child: on liburcu releases
 * that do not join the workers' threads, their leftovers are liburcu's.
 */
static struct gated cpu0_gated;

static void *open_cpu_gate(void *p)
{
	(void)p;
	gate_open(&cpu0_gated.gate);
	return NULL;
}

static int free_all_cpu_child(void *arg)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long ran = 0, queued = 0;
	struct call_rcu_data *crdp;
	pthread_t tid;
	int i;

	(void)arg;
	if (create_all_cpu_call_rcu_data(0))
		return 1;
	/* Worker 0 blocks in a callback: what follows stays in its queue. */
	rcu_read_lock();
	set_thread_call_rcu_data(get_cpu_call_rcu_data(0));
	rcu_read_unlock();
	block_worker_on(&cpu0_gated, NULL);
	for (cpu = 0; cpu < ncpus; cpu++) {
		rcu_read_lock();
		crdp = get_cpu_call_rcu_data((int)cpu);
		rcu_read_unlock();
		set_thread_call_rcu_data(crdp);
		for (i = 0; i < 50; i++, queued++)
			queue_counted(&ran);
	}
	set_thread_call_rcu_data(NULL);
	/* Opened while the free below waits for worker 0 to stop. */
	if (pthread_create(&tid, NULL, open_cpu_gate, NULL))
		return 1;
	test_offline();
	free_all_cpu_call_rcu_data();
	pthread_join(tid, NULL);
	test_online();
	if (urcu_compat_barrier() != 0 || uatomic_read(&ran) != queued)
		return 1;
	return 0;
}

static void test_barrier_covers_cpu_workers_freed_with_callbacks(void **state)
{
	(void)state;
	assert_int_equal(run_in_child(free_all_cpu_child, NULL, 0, CHILD_FORK_HOOKS), 0);
}

static void test_barrier_covers_thread_worker(void **state)
{
	struct call_rcu_data *crdp = create_call_rcu_data(0, -1);
	unsigned long ran = 0;
	int i;

	(void)state;
	assert_non_null(crdp);
	set_thread_call_rcu_data(crdp);
	for (i = 0; i < 100; i++)
		queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 100);
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);
}

/* A worker freed while it still holds callbacks: none may be missed. */
static struct gated freeing_gated;

struct free_arg {
	struct call_rcu_data *crdp;
	struct gate started;
};

static void *free_worker_thread(void *p)
{
	struct free_arg *a = p;

	rcu_register_thread();
	gate_mark_entered(&a->started);
	urcu_compat_call_rcu_data_free(a->crdp);
	rcu_unregister_thread();
	return NULL;
}

static void test_barrier_covers_worker_freed_with_callbacks(void **state)
{
	struct free_arg arg = { .started = GATE_INIT };
	unsigned long ran = 0, moved = 0;
	pthread_t tid;
	int i;

	(void)state;
	arg.crdp = create_call_rcu_data(0, -1);
	assert_non_null(arg.crdp);
	set_thread_call_rcu_data(arg.crdp);
	block_worker_on(&freeing_gated, NULL);
	/* The worker is blocked in gated_cb: these wait in its queue. */
	for (i = 0; i < 200; i++) {
		struct counted *c = calloc(1, sizeof(*c));

		assert_non_null(c);
		c->counter = &ran;
		c->expect = arg.crdp;
		c->moved = &moved;
		call_rcu(&c->head, counted_cb);
	}
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	assert_int_equal(pthread_create(&tid, NULL, free_worker_thread, &arg), 0);
	gate_wait_entered(&arg.started);
	gate_open(&freeing_gated.gate);
	test_join(tid);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 200);
	printf("# freed worker: %lu of 200 callbacks ran after being moved\n", moved);
}

/*
 * Races: writers queue on the default worker, their own worker and the
 * per-CPU workers; a churn thread creates, uses and frees workers;
 * barrier threads check that what was queued before they started ran.
 */
#define WRITERS 4
#define BARRIER_THREADS 3
#define BARRIERS_EACH 8

struct writer {
	unsigned long queued;	/* call_rcu() returned */
	unsigned long ran;
	int kind;		/* 0 default/per-CPU, 1 own worker */
};

static struct writer writers[WRITERS + 1];	/* last: the churn thread */
static int race_stop;
static unsigned long race_failures;

/*
 * A writer keeps at most MAX_BACKLOG callbacks waiting: where grace
 * periods are slow (the signal flavor under valgrind), an unbounded
 * writer queues until the machine runs out of memory.
 */
#define MAX_BACKLOG 1000

static void wait_for_backlog(struct writer *w)
{
	while (uatomic_read(&w->queued) - uatomic_read(&w->ran) > MAX_BACKLOG &&
	       !uatomic_read(&race_stop)) {
		test_offline();
		sched_yield();
		test_online();
	}
}

static void *writer_thread(void *p)
{
	struct writer *w = p;
	struct call_rcu_data *own = NULL;

	rcu_register_thread();
	if (w->kind == 1) {
		own = create_call_rcu_data(0, -1);
		set_thread_call_rcu_data(own);
	}
	while (!uatomic_read(&race_stop)) {
		queue_counted(&w->ran);
		uatomic_inc(&w->queued);
		test_quiescent();
		wait_for_backlog(w);
	}
	if (own) {
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(own);
	}
	rcu_unregister_thread();
	return NULL;
}

static void *churn_thread(void *p)
{
	struct writer *w = p;
	int i;

	rcu_register_thread();
	while (!uatomic_read(&race_stop)) {
		struct call_rcu_data *crdp = create_call_rcu_data(0, -1);

		if (!crdp)
			abort();
		set_thread_call_rcu_data(crdp);
		for (i = 0; i < 10; i++) {
			queue_counted(&w->ran);
			uatomic_inc(&w->queued);
		}
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(crdp);
	}
	rcu_unregister_thread();
	return NULL;
}

static void *barrier_thread(void *p)
{
	unsigned long before[WRITERS + 1];
	int i, j;

	(void)p;
	rcu_register_thread();
	for (i = 0; i < BARRIERS_EACH; i++) {
		for (j = 0; j <= WRITERS; j++)
			before[j] = uatomic_read(&writers[j].queued);
		if (urcu_compat_barrier() != 0)
			uatomic_inc(&race_failures);
		for (j = 0; j <= WRITERS; j++)
			if (uatomic_read(&writers[j].ran) < before[j])
				uatomic_inc(&race_failures);
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_barrier_races_with_writers_and_worker_churn(void **state)
{
	pthread_t tids[WRITERS + 1];
	int dummy[BARRIER_THREADS];
	int i;

	(void)state;
	memset(writers, 0, sizeof(writers));
	race_stop = 0;
	race_failures = 0;
	assert_int_equal(create_all_cpu_call_rcu_data(0), 0);
	for (i = 0; i < WRITERS; i++) {
		writers[i].kind = i & 1;
		assert_int_equal(pthread_create(&tids[i], NULL, writer_thread, &writers[i]), 0);
	}
	assert_int_equal(pthread_create(&tids[WRITERS], NULL, churn_thread, &writers[WRITERS]), 0);
	run_threads(BARRIER_THREADS, barrier_thread, dummy, sizeof(dummy[0]));
	uatomic_set(&race_stop, 1);
	for (i = 0; i <= WRITERS; i++)
		test_join(tids[i]);
	assert_int_equal(urcu_compat_barrier(), 0);
	for (i = 0; i <= WRITERS; i++)
		assert_int_equal(uatomic_read(&writers[i].ran), writers[i].queued);
	assert_int_equal(race_failures, 0);
	free_cpu_workers();
}

/* Many callers at once, each with its own callbacks. */
struct caller {
	unsigned long ran;
	unsigned long failures;
};

static void *concurrent_caller(void *p)
{
	struct caller *c = p;
	int i, j;

	rcu_register_thread();
	for (i = 0; i < 10; i++) {
		for (j = 0; j < 5; j++)
			queue_counted(&c->ran);
		if (urcu_compat_barrier() != 0 ||
		    uatomic_read(&c->ran) != (unsigned long)(i + 1) * 5)
			c->failures++;
	}
	rcu_unregister_thread();
	return NULL;
}

/*
 * More callers than the emulation has slots (32): some share a barrier
 * another one started, some wait for a free slot.
 */
#define CALLERS 48

static void test_barrier_from_many_threads_at_once(void **state)
{
	struct caller callers[CALLERS];
	int i;

	(void)state;
	memset(callers, 0, sizeof(callers));
	run_threads(CALLERS, concurrent_caller, callers, sizeof(callers[0]));
	for (i = 0; i < CALLERS; i++) {
		assert_int_equal(callers[i].failures, 0);
		assert_int_equal(callers[i].ran, 50);
	}
}

/*
 * urcu_compat_barrier_timeout() behind callbacks that block: every bound
 * gives up while one worker is held, and the barriers that gave up leave
 * nothing behind that gets in the way.
 */
static void test_barrier_timeout_with_blocked_callback(void **state)
{
	struct call_rcu_data *own;
	unsigned long ran = 0, passed = 0;
	int i;

	(void)state;
	/* The default worker and a worker of this thread both block. */
	own = block_default_and_own(&dflt_gated, &own_gated, &ran, &passed);

	/* What was queued cannot run: every bounded barrier gives up. */
	assert_int_equal(urcu_compat_barrier_timeout(0), -ETIMEDOUT);
	assert_online_again();
	assert_int_equal(urcu_compat_barrier_timeout(1), -ETIMEDOUT);
	assert_int_equal(urcu_compat_barrier_timeout(20), -ETIMEDOUT);
	assert_online_again();
	assert_int_equal(uatomic_read(&ran), 0);

	/* One worker released: the other still holds the barrier. */
	gate_open(&dflt_gated.gate);
	assert_int_equal(urcu_compat_barrier_timeout(20), -ETIMEDOUT);

	gate_open(&own_gated.gate);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_online_again();
	assert_int_equal(uatomic_read(&passed), 2);
	assert_int_equal(uatomic_read(&ran), 40);

	/* The barriers that gave up left nothing behind that gets in the way. */
	set_thread_call_rcu_data(own);
	for (i = 0; i < 10; i++)
		queue_counted(&ran);
	set_thread_call_rcu_data(NULL);
	for (i = 0; i < 10; i++)
		queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_online_again();
	assert_int_equal(uatomic_read(&ran), 60);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_int_equal(urcu_compat_barrier(), 0);

	synchronize_rcu();
	urcu_compat_call_rcu_data_free(own);
}

#if !URCU_COMPAT_IS_QSBR
static void test_barrier_in_read_side_is_refused(void **state)
{
	unsigned long ran = 0;

	(void)state;
	queue_counted(&ran);
	rcu_read_lock();
	assert_int_equal(urcu_compat_barrier(), -EDEADLK);
	assert_int_equal(urcu_compat_barrier_timeout(100000), -EDEADLK);
	rcu_barrier();	/* returns at once with a one-time message */
	rcu_read_unlock();
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(ran, 1);
}
#endif

/* From inside a callback: refused, nothing hangs. */
static struct gate cb_done = GATE_INIT;
static int cb_result = 1, cb_timeout_result = 1;

static void barrier_inside_cb(struct rcu_head *head)
{
	cb_result = urcu_compat_barrier();
	cb_timeout_result = urcu_compat_barrier_timeout(100000);
	rcu_barrier();	/* returns at once; liburcu's alone would deadlock */
	free(head);
	gate_mark_entered(&cb_done);
}

static void test_barrier_inside_callback_is_refused(void **state)
{
	struct rcu_head *head = malloc(sizeof(*head));

	(void)state;
	assert_non_null(head);
	call_rcu(head, barrier_inside_cb);
	gate_wait_entered(&cb_done);
	assert_int_equal(cb_result, -EDEADLK);
	assert_int_equal(cb_timeout_result, -EDEADLK);
}

static unsigned long fork_ran;

static int child_with_handlers(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 10; i++)
		queue_counted(&fork_ran);
	/* What the parent had queued runs in the child too. */
	return urcu_compat_barrier() != 0 || fork_ran != 11;
}

static void test_barrier_in_fork_child_with_handlers(void **state)
{
	(void)state;
	fork_ran = 0;
	queue_counted(&fork_ran);
	assert_int_equal(run_in_child(child_with_handlers, NULL, 0, CHILD_FORK_HOOKS), 0);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(fork_ran, 1);
}

static int child_without_handlers(void *arg)
{
	(void)arg;
	/* The workers' threads do not exist here: refuse, do not hang. */
	return urcu_compat_barrier() != -ESRCH ||
		urcu_compat_barrier_timeout(100000) != -ESRCH;
}

static void test_barrier_in_fork_child_without_handlers(void **state)
{
	unsigned long ran = 0;

	(void)state;
	queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(run_in_child(child_without_handlers, NULL, 0, 0), 0);
}

#if URCU_COMPAT_IS_QSBR
static void test_barrier_qsbr_online_caller(void **state)
{
	unsigned long ran = 0;

	(void)state;
	assert_true(test_qsbr_online());	/* registered: online */
	queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_true(test_qsbr_online());	/* back online */
	assert_int_equal(ran, 1);
	queue_counted(&ran);
	rcu_barrier();
	assert_true(test_qsbr_online());
	assert_int_equal(ran, 2);
}
#endif

/*
 * Detaching per-CPU workers while another thread forks with liburcu's
 * hooks: the two must not wait for each other's locks.
 */
static int detach_done;

static void *detach_cpu_workers(void *p)
{
	int round, ret;

	(void)p;
	rcu_register_thread();
	for (round = 0; round < 10; round++) {
		/* QSBR: offline, as in free_cpu_workers() */
		test_offline();
		ret = create_all_cpu_call_rcu_data(0);
		test_online();
		if (ret)
			break;
		free_cpu_workers();
	}
	uatomic_set(&detach_done, 1);
	rcu_unregister_thread();
	return NULL;
}

static void test_detach_cpu_workers_while_forking(void **state)
{
	int forks = 0, status;
	pthread_t tid;
	pid_t pid;

	(void)state;
	detach_done = 0;
	assert_int_equal(pthread_create(&tid, NULL, detach_cpu_workers, NULL), 0);
	test_offline();
	while (!uatomic_read(&detach_done) || forks < 5) {
		call_rcu_before_fork();
		pid = fork();
		if (pid == 0)
			_exit(0);
		call_rcu_after_fork_parent();
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		forks++;
	}
	test_online();
	test_join(tid);
	assert_int_equal(urcu_compat_barrier(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_barrier_is_the_headers),
		cmocka_unit_test(test_barrier_covers_default_worker),
		cmocka_unit_test(test_barrier_covers_cpu_workers),
		cmocka_unit_test(test_barrier_covers_thread_worker),
		cmocka_unit_test(test_barrier_covers_worker_freed_with_callbacks),
		cmocka_unit_test(test_barrier_covers_cpu_workers_freed_with_callbacks),
		cmocka_unit_test(test_barrier_races_with_writers_and_worker_churn),
		cmocka_unit_test(test_barrier_from_many_threads_at_once),
		cmocka_unit_test(test_detach_cpu_workers_while_forking),
		cmocka_unit_test_teardown(test_barrier_timeout_with_blocked_callback, open_gates),
#if !URCU_COMPAT_IS_QSBR	/* QSBR has no read-side state: it goes offline */
		cmocka_unit_test(test_barrier_in_read_side_is_refused),
#endif
		cmocka_unit_test(test_barrier_inside_callback_is_refused),
		cmocka_unit_test(test_barrier_in_fork_child_with_handlers),
		cmocka_unit_test(test_barrier_in_fork_child_without_handlers),
#if URCU_COMPAT_IS_QSBR
		cmocka_unit_test(test_barrier_qsbr_online_caller),
#endif
	};

	return cmocka_run_group_tests_name("urcu_compat_barrier " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, harness_setup, harness_teardown);
}
