/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's call_rcu worker (urcu_compat_set_library_worker(1)): a
 * program that queues callbacks on the default route and exits has every
 * callback run, and the worker that ran them stopped and its thread joined
 * exactly once, on every release; liburcu's own exit teardown finds no
 * default worker to stop. Threads with a worker of their own and CPUs with
 * a per-CPU worker keep liburcu's choice.
 *
 * Exit scenarios run in a fresh copy of this executable (fork() + exec()
 * with "--scenario NAME FD"), which reports lines on FD and leaves by
 * returning from main() or by exit(), so that every exit handler and
 * destructor runs. Joins are reported from the harness's pthread_join()
 * interposer as they return, also those made by liburcu's destructor. The
 * test reads FD until the process is gone, under a watchdog far beyond any
 * exit bound: a process still there then has hung.
 *
 * With URCU_COMPAT_TEST_VALGRIND set (meson sets it when valgrind is
 * found), the 100-callback scenario also runs under valgrind with
 * --errors-for-leak-kinds=definite,indirect,possible and no suppression:
 * the thread of a worker never joined shows there as "possibly lost".
 */
#include "common.h"

#include <dirent.h>
#include <signal.h>

#define CALLBACKS	100

/* ---------------------------------------------------------------- */
/* Scenarios (in their own process: no cmocka, failures are exit codes) */
/* ---------------------------------------------------------------- */

static int report_fd = -1;
static pthread_t cb_thread;	/* the thread that ran the first callback */
static int cb_thread_known;

static void report(const char *line)
{
	size_t len = strlen(line);

	if (write(report_fd, line, len) != (ssize_t)len)
		_exit(80);
}

/*
 * Every join, as it returns: "J W <ret>" for the thread that ran the
 * callbacks, "J O <ret>" for any other.
 */
static void report_join(pthread_t tid, int ret)
{
	char line[32];
	int worker = uatomic_read(&cb_thread_known) &&
		pthread_equal(tid, cb_thread);

	snprintf(line, sizeof(line), "J %c %d\n", worker ? 'W' : 'O', ret);
	report(line);
}

/* Threads of this process now. */
static int thread_count(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static struct rcu_head heads[CALLBACKS];
static int ran;

/*
 * The first callback notes its thread; each checks that it runs on the
 * thread that ran the first; the last says that all ran.
 */
static void count_cb(struct rcu_head *head)
{
	(void)head;
	if (!uatomic_read(&cb_thread_known)) {
		cb_thread = pthread_self();
		uatomic_set(&cb_thread_known, 1);
	} else if (!pthread_equal(pthread_self(), cb_thread)) {
		report("MOVED\n");
	}
	if (!get_thread_call_rcu_data())
		report("NO-WORKER\n");
	if (uatomic_add_return(&ran, 1) == CALLBACKS)
		report("ALL\n");
}

/* Queue the callbacks through the header; the thread keeps no worker. */
static int queue_all(int n)
{
	char line[32];
	int i;

	for (i = 0; i < n; i++) {
		call_rcu(&heads[i], count_cb);
		if (get_thread_call_rcu_data())
			return 20;	/* the route left its worker on the thread */
	}
	snprintf(line, sizeof(line), "THREADS %d\n", thread_count());
	report(line);
	return 0;
}

/* The program of the issue: 100 callbacks on the default route, then exit. */
static int scenario_default_100(void)
{
	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	observe_joins(report_join);
	return queue_all(CALLBACKS);	/* from main(): exit barrier, then the stop */
}

/* The same, leaving with exit() while still registered (QSBR: online). */
static int scenario_exit_online(void)
{
	int ret;

	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	observe_joins(report_join);
	ret = queue_all(CALLBACKS);
	if (ret)
		return ret;
	exit(0);
}

/* exit() from a callback on the library's worker, nothing queued behind it. */
static struct rcu_head exiter_head;

static void exiter_cb(struct rcu_head *head)
{
	(void)head;
	cb_thread = pthread_self();
	uatomic_set(&cb_thread_known, 1);
	report("EXITING\n");
	exit(0);
}

static int scenario_exit_from_callback(void)
{
	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	observe_joins(report_join);
	call_rcu(&exiter_head, exiter_cb);
	test_offline();
	for (;;)
		pause();
	return 0;	/* not reached */
}

/*
 * exit() inside a read-side critical section (QSBR: online, where it is
 * no misuse): the exit barrier is refused, and the worker left alone.
 */
static int scenario_exit_in_read_side(void)
{
	int ret;

	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	observe_joins(report_join);
	ret = queue_all(CALLBACKS);
	if (ret)
		return ret;
	rcu_read_lock();
	exit(0);
}

/* Exit barriers off from the start: liburcu's default worker, as without the library. */
static int scenario_barriers_off(void)
{
	urcu_compat_set_library_worker(1);
	urcu_compat_set_exit_barriers(0, 0);
	rcu_register_thread();
	observe_joins(report_join);
	return queue_all(CALLBACKS);
}

/* Exit barriers turned off once the library's worker holds callbacks: left alone. */
static int scenario_barriers_off_later(void)
{
	int ret;

	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	observe_joins(report_join);
	ret = queue_all(CALLBACKS);
	urcu_compat_set_exit_barriers(0, 0);
	return ret;
}

static const struct scenario scenarios[] = {
	{ "default-100", scenario_default_100 },
	{ "exit-online", scenario_exit_online },
	{ "exit-from-callback", scenario_exit_from_callback },
	{ "exit-in-read-side", scenario_exit_in_read_side },
	{ "barriers-off", scenario_barriers_off },
	{ "barriers-off-later", scenario_barriers_off_later },
};

static int scenario_main(const char *name, const char *fdarg)
{
	report_fd = atoi(fdarg);
	return run_scenario_named(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), name);
}

/* ---------------------------------------------------------------- */
/* The test process                                                    */
/* ---------------------------------------------------------------- */

/*
 * Every callback ran, on one thread, a worker's; the calling thread kept
 * no worker; besides it that worker's was the only thread (no default
 * worker); at exit exactly one join of that thread, which succeeded: by
 * the library where liburcu does not join, by liburcu's free where it
 * does; no other join but the library's helper thread's (native).
 */
static void assert_clean_stop(const struct scenario_run *out)
{
	assert_true(scenario_count(out, "ALL\n"));
	assert_false(scenario_count(out, "MOVED\n"));
	assert_false(scenario_count(out, "NO-WORKER\n"));
	assert_true(scenario_count(out, "THREADS 2\n"));
	assert_int_equal(scenario_count(out, "J W "), 1);
	assert_true(scenario_count(out, "J W 0\n"));
	/* Native: the library's helper thread of the bounded exit barrier. */
	assert_int_equal(scenario_count(out, "J O "), URCU_COMPAT_NATIVE_BARRIER ? 1 : 0);
	assert_false(scenario_count(out, "J O 3\n"));
}

static void test_default_route_exits_clean(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("default-100", NULL, NULL, &out);
	assert_scenario_exited(&out, 0);
	if (EXIT_ABORTS_IN_LIBURCU)
		assert_true(scenario_count(&out, "ALL\n"));
	else
		assert_clean_stop(&out);
}

#ifdef TEST_UNDER_VALGRIND
/* Built only where valgrind was found and no sanitizer is in use. */
static void test_default_route_exits_clean_under_valgrind(void **state)
{
	const char *valgrind = getenv("URCU_COMPAT_TEST_VALGRIND");
	struct scenario_run out;

	(void)state;
	assert_non_null(valgrind);
	assert_true(*valgrind != 0);
	harness_run_scenario("default-100", NULL, valgrind, &out);
	/* 99: valgrind found an error, a leak among them. */
	assert_scenario_exited(&out, 0);
	assert_true(scenario_count(&out, "ALL\n"));
}
#endif

/* exit() with the caller registered (QSBR: online): the same clean stop. */
static void test_exit_while_registered(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("exit-online", NULL, NULL, &out);
	assert_scenario_exited(&out, 0);
	if (EXIT_ABORTS_IN_LIBURCU)
		assert_true(scenario_count(&out, "ALL\n"));
	else
		assert_clean_stop(&out);
}

/* exit() from a callback of the library's worker: ends, never joins it. */
static void test_exit_from_callback(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("exit-from-callback", NULL, NULL, &out);
	assert_true(scenario_count(&out, "EXITING\n"));
	assert_scenario_exited(&out, 0);
	assert_int_equal(scenario_count(&out, "J W "), 0);
}

/*
 * exit() inside a read-side critical section: ends, and the worker is
 * left alone (no barrier could run). QSBR has no such section: there the
 * caller is merely online, and the worker is stopped as usual.
 */
static void test_exit_in_read_side(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("exit-in-read-side", NULL, NULL, &out);
	assert_scenario_exited(&out, 0);
	if (EXIT_ABORTS_IN_LIBURCU)
		return;
	if (URCU_COMPAT_IS_QSBR)
		assert_clean_stop(&out);
	else
		assert_int_equal(scenario_count(&out, "J W "), 0);
}

/*
 * Exit barriers off from the start: the calls go to liburcu's default
 * worker; the library stops nothing. liburcu 0.12.5, 0.13.3+ may stop
 * that worker themselves (one join at most).
 */
static void test_exit_barriers_off(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("barriers-off", NULL, NULL, &out);
	assert_scenario_exited(&out, 0);
	assert_true(scenario_count(&out, "THREADS 2\n"));
	assert_true(scenario_count(&out, "J W ") <= 1);
	assert_false(scenario_count(&out, "J W 3\n"));	/* ESRCH: a second join */
	assert_false(scenario_count(&out, "MOVED\n"));
}

/* Exit barriers turned off after the worker got callbacks: left alone. */
static void test_exit_barriers_off_later(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("barriers-off-later", NULL, NULL, &out);
	assert_scenario_exited(&out, 0);
	assert_int_equal(scenario_count(&out, "J W "), 0);
}

/* ---------------------------------------------------------------- */
/* In this process: where the route sends each call                   */
/* ---------------------------------------------------------------- */

struct seen {
	struct rcu_head head;
	struct call_rcu_data *worker;	/* the callback's thread's call_rcu data */
	int ran;
};

static void seen_cb(struct rcu_head *head)
{
	struct seen *s = caa_container_of(head, struct seen, head);

	s->worker = get_thread_call_rcu_data();
	uatomic_set(&s->ran, 1);
}

/* call_rcu() through the header, then a barrier: the worker that ran it. */
static struct call_rcu_data *worker_of_a_call(void)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	call_rcu(&s.head, seen_cb);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&s.ran), 1);
	return s.worker;
}

static int setup(void **state)
{
	(void)state;
	urcu_compat_set_library_worker(1);
	rcu_register_thread();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rcu_unregister_thread();
	return 0;
}

/*
 * The default route: the library's worker, the same each time, never left
 * as the thread's; urcu_compat_call_rcu_data_free() and
 * call_rcu_data_free() of it, as a callback sees it, are ignored.
 */
static void test_default_route_uses_the_library_worker(void **state)
{
	struct call_rcu_data *lib;

	(void)state;
	lib = worker_of_a_call();
	assert_non_null(lib);
	assert_null(get_thread_call_rcu_data());
	assert_ptr_equal(worker_of_a_call(), lib);
	urcu_compat_call_rcu_data_free(lib);
	call_rcu_data_free(lib);
	assert_ptr_equal(worker_of_a_call(), lib);
	assert_null(get_thread_call_rcu_data());
}

/* A thread with a worker of its own keeps it. */
static void test_own_worker_untouched(void **state)
{
	struct call_rcu_data *own = create_call_rcu_data(0, -1);

	(void)state;
	assert_non_null(own);
	set_thread_call_rcu_data(own);
	assert_ptr_equal(worker_of_a_call(), own);
	assert_ptr_equal(get_thread_call_rcu_data(), own);
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(own);
}

/* With every CPU its worker, calls go to a per-CPU worker, not the library's. */
static void test_cpu_workers_untouched(void **state)
{
	struct call_rcu_data *lib, *got;
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	int found = 0;

	(void)state;
	lib = worker_of_a_call();
	assert_int_equal(create_all_cpu_call_rcu_data(0), 0);
	got = worker_of_a_call();
	assert_true(got != lib);
	rcu_read_lock();
	for (cpu = 0; cpu < ncpus; cpu++)
		found |= get_cpu_call_rcu_data((int)cpu) == got;
	rcu_read_unlock();
	assert_true(found);
	assert_null(get_thread_call_rcu_data());
	free_cpu_workers();
	assert_ptr_equal(worker_of_a_call(), lib);
}

/* ---------------------------------------------------------------- */
/* fork() children                                                     */
/* ---------------------------------------------------------------- */

static unsigned long child_ran;

/*
 * With liburcu's hooks: the parent's worker was freed by liburcu; the
 * route makes a new one, which works, and exit() stops it.
 */
static int child_with_hooks(void *arg)
{
	(void)arg;
	if (try_queue_counted(&child_ran, 10))
		return 1;
	if (get_thread_call_rcu_data())
		return 2;
	if (urcu_compat_barrier())
		return 3;
	return uatomic_read(&child_ran) == 10 ? 0 : 4;
}

/*
 * Without them: the worker's thread is gone; the child still ends (a join
 * of that thread would never return).
 */
static int child_without_hooks(void *arg)
{
	(void)arg;
	return urcu_compat_barrier() == -ESRCH ? 0 : 1;
}

static void test_fork_child_with_hooks(void **state)
{
	(void)state;
	assert_non_null(worker_of_a_call());	/* the parent's worker exists */
	assert_int_equal(run_in_child(child_with_hooks, NULL, 0,
				      CHILD_FORK_HOOKS | CHILD_EXITS), 0);
	assert_non_null(worker_of_a_call());
}

static void test_fork_child_without_hooks(void **state)
{
	(void)state;
	assert_non_null(worker_of_a_call());
	assert_int_equal(run_in_child(child_without_hooks, NULL, 0, CHILD_EXITS), 0);
	assert_non_null(worker_of_a_call());
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_route_exits_clean),
#ifdef TEST_UNDER_VALGRIND
		cmocka_unit_test(test_default_route_exits_clean_under_valgrind),
#endif
		cmocka_unit_test(test_exit_while_registered),
		cmocka_unit_test(test_exit_from_callback),
		cmocka_unit_test(test_exit_in_read_side),
		cmocka_unit_test(test_exit_barriers_off),
		cmocka_unit_test(test_exit_barriers_off_later),
		cmocka_unit_test(test_default_route_uses_the_library_worker),
		cmocka_unit_test(test_own_worker_untouched),
		cmocka_unit_test(test_cpu_workers_untouched),
		cmocka_unit_test(test_fork_child_with_hooks),
		cmocka_unit_test(test_fork_child_without_hooks),
	};

	if (argc == 4 && !strcmp(argv[1], "--scenario"))
		return scenario_main(argv[2], argv[3]);
	harness_find_self(argv[0]);
	return cmocka_run_group_tests_name("urcu_compat exit clean " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, setup, teardown);
}
