/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu_compat_barrier_stalls(): a bounded barrier gives up behind a worker
 * blocked in a callback (the default worker, one of the thread's own, a
 * per-CPU one), and the report names that worker, with the thread and
 * kernel tid the blocked callback saw, and no other; once the worker runs
 * again the report is empty. Workers paused for fork() stall a barrier
 * too, and a fork() child never names the parent's threads. An exit
 * barrier that gives up prints one line with URCU_COMPAT_DEBUG=stall and
 * none without it.
 *
 * The other workers a barrier waits for run their rendezvous late on a
 * busy machine: before reading the report, the test queues a callback on
 * each of them and waits until it ran, which it does after the
 * rendezvous (a worker runs its callbacks in order). No sleep, no time
 * limit: waited_ms is only checked to be at least the bound given.
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>

/* The bound of the barriers that must give up. */
#define GIVE_UP_MS	50

/* A callback that notes where it runs, then waits on its gate. */
struct blocker {
	struct rcu_head head;
	struct gate gate;
	pthread_t thread;
	long tid;
};

static struct blocker blockers[2];

static int open_blockers(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(blockers) / sizeof(blockers[0]); i++)
		gate_open(&blockers[i].gate);
	return 0;
}

static void blocker_cb(struct rcu_head *head)
{
	struct blocker *b = caa_container_of(head, struct blocker, head);

	b->thread = pthread_self();
	b->tid = (long)syscall(SYS_gettid);
	gate_pass(&b->gate);	/* entered: the test reads the fields */
}

/* Queue cb on crdp (NULL: where this thread's call_rcu() goes). */
static void queue_on(struct call_rcu_data *crdp, struct rcu_head *head,
		     void (*cb)(struct rcu_head *head))
{
	struct call_rcu_data *saved = get_thread_call_rcu_data();

	if (crdp)
		set_thread_call_rcu_data(crdp);
	call_rcu(head, cb);
	if (crdp)
		set_thread_call_rcu_data(saved);
}

/* Block crdp's thread in b until b's gate opens. */
static void block(struct call_rcu_data *crdp, struct blocker *b)
{
	gate_init(&b->gate);
	queue_on(crdp, &b->head, blocker_cb);
	gate_wait_entered(&b->gate);
}

/* A callback that marks its gate when it has run. */
struct marker {
	struct rcu_head head;
	struct gate ran;
	long tid;
};

static void marker_cb(struct rcu_head *head)
{
	struct marker *m = caa_container_of(head, struct marker, head);

	m->tid = (long)syscall(SYS_gettid);
	gate_mark_entered(&m->ran);
}

/* Everything queued on crdp so far has run; returns its kernel tid. */
static long flush(struct call_rcu_data *crdp)
{
	struct marker m;

	gate_init(&m.ran);
	queue_on(crdp, &m.head, marker_cb);
	gate_wait_entered(&m.ran);
	return m.tid;
}

/* The report names one worker only: the one b blocks. */
static void assert_only_stall(int kind, int cpu, const struct blocker *b)
{
	struct urcu_compat_stall s[4];
	int n = urcu_compat_barrier_stalls(s, 4);

	printf("# stall: kind %d cpu %d tid %ld waited %u ms\n",
	       n > 0 ? s[0].kind : 0, n > 0 ? s[0].cpu : 0, n > 0 ? s[0].tid : 0L,
	       n > 0 ? s[0].waited_ms : 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].kind, kind);
	assert_int_equal(s[0].cpu, cpu);
	assert_true(pthread_equal(s[0].thread, b->thread));
	assert_int_equal(s[0].tid, b->tid);	/* a rendezvous ran there before */
	assert_true(s[0].waited_ms >= GIVE_UP_MS);
	/* Counted without room to fill. */
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 1);
}

/*
 * b's worker runs again. After one barrier gave up, the report empties
 * as soon as the worker ran its rendezvous, without another barrier (not
 * after two in native mode: the second one waits for a run of liburcu's
 * barrier that starts only then, with rendezvous of its own).
 */
static void unblock_and_assert_no_stall(struct call_rcu_data *crdp, struct blocker *b,
					int gave_up)
{
	gate_open(&b->gate);
	flush(crdp);
	if (gave_up == 1 || !URCU_COMPAT_NATIVE_BARRIER)
		assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 0);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 0);
}

static void test_no_report_without_a_barrier_that_gave_up(void **state)
{
	struct urcu_compat_stall s[1];

	(void)state;
	assert_mode_is_the_headers();
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_int_equal(urcu_compat_barrier_stalls(s, 1), 0);
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 0);
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 1), -EINVAL);
	assert_int_equal(urcu_compat_barrier_stalls(s, -1), -EINVAL);
}

static void test_report_names_the_default_worker(void **state)
{
	struct call_rcu_data *dflt = get_default_call_rcu_data();
	struct blocker *b = &blockers[0];

	(void)state;
	/* A rendezvous of the library runs there: it learns the tid. */
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	block(NULL, b);
	assert_true(pthread_equal(b->thread, get_call_rcu_thread(dflt)));
	assert_int_equal(urcu_compat_barrier_timeout(GIVE_UP_MS), -ETIMEDOUT);
	assert_online_again();
	assert_only_stall(URCU_COMPAT_WORKER_DEFAULT, -1, b);
	/* Still blocked: a second barrier that gives up names it again. */
	assert_int_equal(urcu_compat_barrier_timeout(GIVE_UP_MS), -ETIMEDOUT);
	assert_only_stall(URCU_COMPAT_WORKER_DEFAULT, -1, b);
	unblock_and_assert_no_stall(dflt, b, 2);
}

static void test_report_names_a_threads_own_worker(void **state)
{
	struct call_rcu_data *dflt = get_default_call_rcu_data(), *own;
	struct blocker *b = &blockers[0];

	(void)state;
	own = create_call_rcu_data(0, -1);
	assert_non_null(own);
	set_thread_call_rcu_data(own);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	block(NULL, b);
	set_thread_call_rcu_data(NULL);
	assert_true(pthread_equal(b->thread, get_call_rcu_thread(own)));
	assert_int_equal(urcu_compat_barrier_timeout(GIVE_UP_MS), -ETIMEDOUT);
	flush(dflt);	/* its rendezvous ran: not named */
	assert_only_stall(URCU_COMPAT_WORKER_THREAD, -1, b);
	unblock_and_assert_no_stall(own, b, 1);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(own);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 0);
}

static struct call_rcu_data *cpu_worker(long cpu)
{
	struct call_rcu_data *crdp;

	rcu_read_lock();
	crdp = get_cpu_call_rcu_data((int)cpu);
	rcu_read_unlock();
	return crdp;
}

static void test_report_names_a_per_cpu_worker(void **state)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF), blocked = ncpus - 1;
	struct call_rcu_data *dflt = get_default_call_rcu_data();
	struct blocker *b = &blockers[1];

	(void)state;
	test_offline();
	assert_int_equal(create_all_cpu_call_rcu_data(0), 0);
	test_online();
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	block(cpu_worker(blocked), b);
	assert_true(pthread_equal(b->thread, get_call_rcu_thread(cpu_worker(blocked))));
	assert_int_equal(urcu_compat_barrier_timeout(GIVE_UP_MS), -ETIMEDOUT);
	flush(dflt);
	for (cpu = 0; cpu < ncpus; cpu++)
		if (cpu != blocked)
			flush(cpu_worker(cpu));
	assert_only_stall(URCU_COMPAT_WORKER_CPU, (int)blocked, b);
	unblock_and_assert_no_stall(cpu_worker(blocked), b, 1);
	free_cpu_workers();
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
}

/*
 * Workers paused by call_rcu_before_fork() run nothing: a barrier gives
 * up on them and the report names them. In the child, after
 * call_rcu_after_fork_child(), the parent's workers are gone: nothing
 * may name them.
 */
static long parent_default_tid;

static int tid_is_mine(long tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld", tid);
	return access(path, F_OK) == 0;
}

static int child_after_paused_fork(void *arg)
{
	struct urcu_compat_stall s[4];
	struct call_rcu_data *dflt;
	int i, n;

	(void)arg;
	if (urcu_compat_barrier_stalls(s, 4) != -ESRCH)	/* workers lost */
		return 1;
	call_rcu_after_fork_child();
	dflt = get_default_call_rcu_data();
	n = urcu_compat_barrier_stalls(s, 4);
	/* Native: no barrier of the child is outstanding. Emulation: the
	 * rendezvous moved to the child's default worker. */
	if (n < 0 || n > (URCU_COMPAT_NATIVE_BARRIER ? 0 : 1))
		return 2;
	for (i = 0; i < n; i++)
		if (s[i].kind != URCU_COMPAT_WORKER_DEFAULT ||
		    !pthread_equal(s[i].thread, get_call_rcu_thread(dflt)) ||
		    s[i].tid == parent_default_tid || (s[i].tid && !tid_is_mine(s[i].tid)))
			return 3;
	if (urcu_compat_barrier_timeout(GENEROUS_MS) != 0)
		return 4;
	return urcu_compat_barrier_stalls(s, 4) != 0 ? 5 : 0;
}

static void test_report_names_paused_workers_and_not_in_a_child(void **state)
{
	struct call_rcu_data *dflt = get_default_call_rcu_data();
	struct urcu_compat_stall s[4];
	int ret;

	(void)state;
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	parent_default_tid = flush(dflt);
	test_offline();	/* QSBR: the workers may wait for a grace period */
	call_rcu_before_fork();
	test_online();
	ret = urcu_compat_barrier_timeout(GIVE_UP_MS);
	if (ret == -ETIMEDOUT) {
		ret = urcu_compat_barrier_stalls(s, 4);
		if (ret == 1 && (s[0].kind != URCU_COMPAT_WORKER_DEFAULT ||
				 !pthread_equal(s[0].thread, get_call_rcu_thread(dflt)) ||
				 s[0].tid != parent_default_tid))
			ret = -1;
		ret = ret == 1 ? run_in_child(child_after_paused_fork, NULL, 0, 0) : 100 + ret;
	} else {
		ret = 200 + ret;	/* paused workers ran a rendezvous? */
	}
	test_offline();
	call_rcu_after_fork_parent();
	test_online();
	assert_int_equal(ret, 0);
	assert_int_equal(urcu_compat_barrier_timeout(GENEROUS_MS), 0);
	assert_int_equal(urcu_compat_barrier_stalls(NULL, 0), 0);
}

/* ---------------------------------------------------------------- */
/* The line at exit (a fresh copy of this executable per scenario)   */
/* ---------------------------------------------------------------- */

#define EXIT_BOUND_MS	100

/* The default worker blocked for good; exit with stderr on the pipe. */
static int scenario_blocked_at_exit(void)
{
	static struct blocker b;

	rcu_register_thread();
	urcu_compat_set_exit_barriers(1, EXIT_BOUND_MS);
	(void)get_default_call_rcu_data();
	if (urcu_compat_barrier_timeout(GENEROUS_MS))
		return 10;
	block(NULL, &b);
	fprintf(stderr, "blocked tid %ld\n", b.tid);
	return 0;	/* from main(): the exit barrier gives up */
}

static const struct scenario scenarios[] = {
	{ "blocked-at-exit", scenario_blocked_at_exit },
};

static int scenario_main(const char *name, const char *fdarg)
{
	alarm(CHILD_WATCHDOG_S);
	if (dup2(atoi(fdarg), STDERR_FILENO) < 0)
		return 100;
	setvbuf(stderr, NULL, _IONBF, 0);
	return run_scenario_named(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), name);
}

/* Run the scenario with env: its stderr, whole, in out->lines. */
static void run_blocked_at_exit(const char *env, struct scenario_run *out)
{
	harness_run_scenario("blocked-at-exit", env, NULL, out);
	assert_scenario_exited(out, 0);
}

static void test_exit_stall_line_with_the_variable(void **state)
{
	struct scenario_run out;
	char expect[64];
	const char *line, *p;
	long tid;

	(void)state;
	run_blocked_at_exit("URCU_COMPAT_DEBUG=other,stall", &out);
	p = strstr(out.lines, "blocked tid ");
	assert_non_null(p);
	tid = atol(p + strlen("blocked tid "));
	assert_true(tid > 0);
	assert_int_equal(scenario_count(&out, "urcu-compat: stall:"), 1);
	line = strstr(out.lines, "urcu-compat: stall:");
	/* One worker: the default one, with the tid its callback saw. */
	assert_non_null(strstr(line, "it waits for 1 worker: the default worker (thread "));
	snprintf(expect, sizeof(expect), ", tid %ld, ", tid);
	assert_non_null(strstr(line, expect));
	assert_true(strchr(line, '\n') != NULL);
}

static void test_exit_no_stall_line_without_the_variable(void **state)
{
	struct scenario_run out;

	(void)state;
	run_blocked_at_exit("URCU_COMPAT_DEBUG=", &out);
	assert_true(scenario_count(&out, "blocked tid "));	/* the scenario ran */
	assert_int_equal(scenario_count(&out, "urcu-compat: stall"), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_report_without_a_barrier_that_gave_up),
		cmocka_unit_test_teardown(test_report_names_the_default_worker, open_blockers),
		cmocka_unit_test_teardown(test_report_names_a_threads_own_worker, open_blockers),
		cmocka_unit_test_teardown(test_report_names_a_per_cpu_worker, open_blockers),
		cmocka_unit_test(test_report_names_paused_workers_and_not_in_a_child),
		cmocka_unit_test(test_exit_stall_line_with_the_variable),
		cmocka_unit_test(test_exit_no_stall_line_without_the_variable),
	};

	if (argc == 4 && !strcmp(argv[1], "--scenario"))
		return scenario_main(argv[2], argv[3]);
	harness_find_self(argv[0]);
	return cmocka_run_group_tests_name("urcu_compat stalls " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, harness_setup, harness_teardown);
}
