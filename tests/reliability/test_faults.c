/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection: in each scenario, the Nth allocation, thread creation
 * or lock initialisation the library makes fails, for every N the
 * scenario reaches (fault.c counts them first). Each call must return a
 * documented error or succeed by a path that needs no resource; nothing
 * may crash, hang or be lost (every callback queued runs), each worker
 * thread stopped is joined exactly once, and the same call works again
 * once resources are back. valgrind, in its run of the suite, checks
 * that nothing leaks.
 *
 * Scenarios that depend on a first use in the process (the first worker
 * stop finds out whether liburcu joins; the first bounded barrier starts
 * the native helper thread; a fork() child re-initialising the library's
 * locks; the library's constructor) run in fork() children
 * (run_in_child(), through a pipe) or in a fresh copy of this executable
 * (through its exit status).
 */
#include "../common.h"
#include "fault.h"

#include <limits.h>


/* What a scenario run reports. */
struct outcome {
	int verdict;		/* 0: every check passed; else which one failed */
	unsigned long calls;	/* library calls of the armed kinds it made */
	unsigned long injected;	/* of which failed */
};

#define MAX_N	64	/* no scenario comes near it; a runaway count is an error */

/* A scenario, armed, and what it reports: run_in_child()'s argument. */
struct armed_run {
	int (*scenario)(unsigned int, unsigned long);
	unsigned int kinds;
	unsigned long nth;
	struct outcome o;
};

static int run_armed(void *arg)
{
	struct armed_run *r = arg;

	r->o.verdict = r->scenario(r->kinds, r->nth);
	r->o.calls = fault_calls();
	r->o.injected = fault_injected();
	fault_disarm();
	return 0;
}

/*
 * Run scenario(arm) in a fork() child with liburcu's fork hooks, armed
 * with kinds and nth there; its outcome comes back through a pipe.
 */
static struct outcome in_child(int (*scenario)(unsigned int, unsigned long),
			       unsigned int kinds, unsigned long nth)
{
	struct armed_run r = { scenario, kinds, nth, { 1, 0, 0 } };

	if (run_in_child(run_armed, &r, sizeof(r), CHILD_FORK_HOOKS)) {
		printf("# child hung or died\n");
		r.o.verdict = 99;
	}
	return r.o;
}

/* Run scenario in this process. */
static struct outcome here(int (*scenario)(unsigned int, unsigned long),
			   unsigned int kinds, unsigned long nth)
{
	struct outcome o;
	unsigned long before = fault_injected();

	o.verdict = scenario(kinds, nth);
	o.calls = fault_calls();
	o.injected = fault_injected() - before;
	fault_disarm();
	return o;
}

/*
 * Count what the scenario reaches, then fail each of those calls in
 * turn; every run must pass. Prints and returns the calls reached.
 */
static unsigned long every_n(const char *name, int child, unsigned int kinds,
			     int (*scenario)(unsigned int, unsigned long))
{
	struct outcome o;
	unsigned long n, reached;

	o = child ? in_child(scenario, kinds, 0) : here(scenario, kinds, 0);
	if (o.verdict)
		printf("# %s, nothing failing: check %d failed\n", name, o.verdict);
	assert_int_equal(o.verdict, 0);
	assert_int_equal(o.injected, 0);
	reached = o.calls;
	assert_true(reached < MAX_N);
	for (n = 1; n <= reached; n++) {
		o = child ? in_child(scenario, kinds, n) : here(scenario, kinds, n);
		if (o.verdict)
			printf("# %s, call %lu of %lu failing: check %d failed\n",
			       name, n, reached, o.verdict);
		assert_int_equal(o.verdict, 0);
		assert_int_equal(o.injected, 1);
	}
	printf("# %s: %lu library call(s) reached, each made to fail\n", name, reached);
	return reached;
}

/* ---------------------------------------------------------------- */
/* Scenarios: 0 when every check passed                               */
/* ---------------------------------------------------------------- */

/* A barrier that meets per-CPU workers it has never seen. */
static int barrier_new_cpu_workers(unsigned int kinds, unsigned long nth)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long ran = 0, queued = 0;
	struct call_rcu_data *crdp;
	int ret;

	if (create_all_cpu_call_rcu_data(0))
		return 10;
	for (cpu = 0; cpu < ncpus; cpu++) {
		rcu_read_lock();
		crdp = get_cpu_call_rcu_data((int)cpu);
		rcu_read_unlock();
		set_thread_call_rcu_data(crdp);
		if (try_queue_counted(&ran, 10))
			return 11;
		queued += 10;
	}
	set_thread_call_rcu_data(NULL);
	fault_arm_nth(kinds, nth);
	ret = urcu_compat_barrier();
	fault_disarm();
	if (ret != 0 && ret != -ENOMEM)
		return 12;
	if (ret == 0 && uatomic_read(&ran) != queued)
		return 13;
	/* Resources back: it works. */
	if (urcu_compat_barrier() != 0 || uatomic_read(&ran) != queued)
		return 14;
	free_cpu_workers();
	return 0;
}

/* create_call_rcu_data() through the header (the emulation tracks it). */
static int create_worker(unsigned int kinds, unsigned long nth)
{
	struct call_rcu_data *crdp;
	unsigned long ran = 0;
	int err;

	fault_arm_nth(kinds, nth);
	errno = 0;
	crdp = create_call_rcu_data(0, -1);
	err = errno;
	fault_disarm();
	if (!crdp && err != ENOMEM)
		return 20;
	if (crdp) {
		set_thread_call_rcu_data(crdp);
		if (try_queue_counted(&ran, 10))
			return 21;
		set_thread_call_rcu_data(NULL);
		if (urcu_compat_barrier() != 0 || uatomic_read(&ran) != 10)
			return 22;
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(crdp);
	}
	crdp = create_call_rcu_data(0, -1);
	if (!crdp)
		return 23;
	urcu_compat_call_rcu_data_free(crdp);
	return 0;
}

/*
 * Stop a worker that still holds callbacks: its thread has exited and
 * was joined exactly once when the free returns, its callbacks ran.
 */
/* Whether liburcu's free joined the worker in the last stop_one(). */
static int liburcu_joined;

static int stop_one(unsigned int kinds, unsigned long nth, int arm)
{
	/* Made without the header: its stop plants the exit watch. */
	struct call_rcu_data *crdp = create_worker_without_header();
	unsigned long ran = 0;
	unsigned int mark;
	pthread_t tid;

	if (!crdp)
		return 30;
	tid = get_call_rcu_thread(crdp);
	set_thread_call_rcu_data(crdp);
	if (try_queue_counted(&ran, 20))
		return 31;
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	mark = join_mark();
	if (arm)
		fault_arm_nth(kinds, nth);
	urcu_compat_call_rcu_data_free(crdp);
	if (arm)
		fault_disarm();
	if (joins_of_since(tid, mark, NULL) != 1)
		return 32;
	liburcu_joined = joins_by_liburcu_since(mark) == 1;
	if (urcu_compat_barrier() != 0 || uatomic_read(&ran) != 20)
		return 33;
	return 0;
}

/* The first stop of a process: it finds out whether liburcu joins. */
static int first_stop(unsigned int kinds, unsigned long nth)
{
	int ret = stop_one(kinds, nth, 1);

	/* Once more, with resources back. */
	return ret ? ret : stop_one(kinds, nth, 0);
}

/* A later stop: the answer is known, the exit is still watched. */
static int later_stop(unsigned int kinds, unsigned long nth)
{
	int ret = stop_one(kinds, nth, 1);

	return ret ? ret : stop_one(kinds, nth, 0);
}

/* The first bounded barrier (native: it starts the helper thread). */
static int first_bounded_barrier(unsigned int kinds, unsigned long nth)
{
	unsigned long ran = 0;
	int ret;

	if (try_queue_counted(&ran, 10))
		return 40;
	fault_arm_nth(kinds, nth);
	ret = urcu_compat_barrier_timeout(60000);
	fault_disarm();
	if (ret != 0 && ret != -EAGAIN && ret != -ENOMEM)
		return 41;
	if (ret == 0 && uatomic_read(&ran) != 10)
		return 42;
	if (urcu_compat_barrier_timeout(60000) != 0 || uatomic_read(&ran) != 10)
		return 43;
	if (urcu_compat_barrier() != 0)
		return 44;
	return 0;
}

/* fork() with liburcu's hooks: the child re-initialised the locks. */
static int child_after_fork(void)
{
	unsigned long ran = 0;

	if (try_queue_counted(&ran, 10))
		return 50;
	if (urcu_compat_barrier() != 0 || uatomic_read(&ran) != 10)
		return 51;
	if (try_queue_counted(&ran, 10))
		return 52;
	if (urcu_compat_barrier_timeout(60000) != 0 || uatomic_read(&ran) != 20)
		return 53;
	return 0;
}

/*
 * fork() with liburcu's hooks, the nth lock initialisation of the child
 * failing (0: none). The child's outcome comes back through a pipe.
 */
static struct outcome fork_locks(unsigned long nth)
{
	struct outcome o = { 1, 0, 0 };
	unsigned long ran = 0;
	int fds[2], status;
	pid_t pid;

	if (try_queue_counted(&ran, 5) || urcu_compat_barrier() || pipe(fds))
		return o;
	fflush(stdout);
	fflush(stderr);
	test_offline();
	call_rcu_before_fork();
	fault_arm_nth(FAULT_SYNC, nth);	/* what counts is the child's */
	pid = fork();
	if (pid == 0) {
		call_rcu_after_fork_child();
		fault_disarm();
		test_online();
		o.calls = fault_calls();
		o.injected = nth && o.calls >= nth;
		o.verdict = child_after_fork();
		_exit(write(fds[1], &o, sizeof(o)) == sizeof(o) ? 0 : 2);
	}
	fault_disarm();
	call_rcu_after_fork_parent();
	close(fds[1]);
	if (pid < 0 || read(fds[0], &o, sizeof(o)) != sizeof(o))
		o.verdict = 98;
	if (pid > 0)
		waitpid(pid, &status, 0);
	test_online();
	close(fds[0]);
	return o;
}

/* ---------------------------------------------------------------- */
/* Tests                                                              */
/* ---------------------------------------------------------------- */

/* Under valgrind, only what valgrind leaves to the interposers fails. */
static unsigned int all_kinds(void)
{
	return fault_alloc_works() ? FAULT_ALL : FAULT_ALL & ~FAULT_ALLOC;
}

/* Allocation failures to expect: none where valgrind allocates. */
static int allocs_expected(void)
{
	if (!fault_alloc_works())
		printf("# under valgrind: its allocators replace the interposers, allocations never fail\n");
	return fault_alloc_works();
}

static void test_fault_interposer_works(void **state)
{
	(void)state;
	assert_true(fault_ready());
}

/* First: no worker stop may have happened in this process before. */
static void test_faults_first_worker_stop(void **state)
{
	(void)state;
	every_n("first worker stop (finds out whether liburcu joins)", 1, all_kinds(), first_stop);
}

static void test_faults_first_bounded_barrier(void **state)
{
	unsigned long n;

	(void)state;
	n = every_n("first bounded barrier", 1, all_kinds(), first_bounded_barrier);
	if (URCU_COMPAT_NATIVE_BARRIER)
		assert_true(n >= 1);	/* the helper thread */
}

static void test_faults_barrier_new_cpu_workers(void **state)
{
	unsigned long n;

	(void)state;
	n = every_n("barrier meeting new per-CPU workers", 0, all_kinds(),
		    barrier_new_cpu_workers);
	if (!URCU_COMPAT_NATIVE_BARRIER && allocs_expected())
		assert_true(n >= 1);	/* a record per new worker */
}

static void test_faults_create_worker(void **state)
{
	unsigned long n;

	(void)state;
	n = every_n("create_call_rcu_data() through the header", 0, all_kinds(), create_worker);
	if (!URCU_COMPAT_NATIVE_BARRIER && allocs_expected())
		assert_true(n >= 1);	/* the worker's record */
}

static void test_faults_later_worker_stop(void **state)
{
	unsigned long n;

	(void)state;
	n = every_n("later worker stop", 0, all_kinds(), later_stop);
	/* The exit watch, where the library joins (liburcu's free did not). */
	if (allocs_expected() && !liburcu_joined)
		assert_true(n >= 1);
}

/* Each lock and condition the fork() child re-initialises fails in turn. */
static void test_faults_fork_child_locks(void **state)
{
	struct outcome o;
	unsigned long n, reached;

	(void)state;
	o = fork_locks(0);
	assert_int_equal(o.verdict, 0);
	reached = o.calls;
	assert_true(reached >= 2 && reached < MAX_N);
	for (n = 1; n <= reached; n++) {
		o = fork_locks(n);
		if (o.verdict)
			printf("# fork child, lock initialisation %lu of %lu failing: check %d failed\n",
			       n, reached, o.verdict);
		assert_int_equal(o.verdict, 0);
		assert_int_equal(o.injected, 1);
	}
	printf("# fork() child re-initialising the locks: %lu call(s), each made to fail\n",
	       reached);
}

/* ---------------------------------------------------------------- */
/* The library's constructor, in a fresh copy of this executable        */
/* ---------------------------------------------------------------- */

/* In the fresh process: the library works although its constructor failed. */
static int constructor_scenario(void)
{
	int ret;

	rcu_register_thread();
	fault_disarm();
	ret = first_bounded_barrier(0, 0);
	if (!ret)
		ret = first_stop(0, 0);
	if (!ret)
		ret = later_stop(0, 0);
	rcu_unregister_thread();
	return ret;
}

static int run_fresh(unsigned int kinds, unsigned long nth, unsigned long *calls)
{
	static const char *const args[] = { "--constructor", NULL };
	char arm[64];
	int status;
	pid_t pid;

	snprintf(arm, sizeof(arm), "URCU_COMPAT_FAULT_AT_START=%u:%lu", kinds, nth);
	pid = harness_spawn_self(args, arm);
	if (pid < 0)
		return -1;
	status = harness_wait(pid);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	*calls = WEXITSTATUS(status) >> 4;
	return WEXITSTATUS(status) & 15;
}

static void test_faults_constructor(void **state)
{
	unsigned long calls = 0, n, reached;

	(void)state;
	assert_int_equal(run_fresh(FAULT_ALL, 0, &calls), 0);
	reached = calls;
	assert_true(reached >= 3 && reached < 16);
	for (n = 1; n <= reached; n++) {
		int ret = run_fresh(FAULT_ALL, n, &calls);

		if (ret)
			printf("# constructor call %lu failing: check %d failed\n", n, ret);
		assert_int_equal(ret, 0);
	}
	printf("# library constructor: %lu call(s), each made to fail\n", reached);
}

/*
 * Registered only, no default worker yet (harness_setup() makes one): the
 * first uses are the fork() children's, and liburcu 0.7 corrupts a default
 * worker that never ran when call_rcu_after_fork_child() frees it.
 */
static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_interposer_works),
		cmocka_unit_test(test_faults_first_worker_stop),
		cmocka_unit_test(test_faults_first_bounded_barrier),
		cmocka_unit_test(test_faults_fork_child_locks),
		cmocka_unit_test(test_faults_barrier_new_cpu_workers),
		cmocka_unit_test(test_faults_create_worker),
		cmocka_unit_test(test_faults_later_worker_stop),
		cmocka_unit_test(test_faults_constructor),
	};

	if (argc == 2 && !strcmp(argv[1], "--constructor")) {
		/* Exit status: calls reached << 4 | verdict (< 16). */
		unsigned long calls = fault_calls();
		int ret = constructor_scenario();

		return (int)((calls > 15 ? 15 : calls) << 4) | (ret ? (ret & 15) | 1 : 0);
	}
	harness_find_self(argv[0]);
	return cmocka_run_group_tests_name("urcu_compat faults " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, setup, harness_teardown);
}
