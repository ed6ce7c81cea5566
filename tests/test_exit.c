/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exit barriers against liburcu's own exit teardown: exit never hangs.
 *
 * liburcu 0.12.5, 0.13.3 and later free the default worker at exit when
 * its queue is empty, and that free waits for the worker to stop. When the
 * library's exit barrier gives up because the default worker is stuck in
 * a callback, the worker has taken its whole queue, so the free would wait
 * forever: the library must leave the default worker something queued.
 *
 * Each scenario runs in a fresh copy of this executable (fork() + exec()
 * with "--scenario NAME FD"), which reports on FD and returns from main()
 * or calls exit(), so that every destructor runs. The test waits for the
 * end of FD, which comes when the process is gone, under a watchdog far
 * beyond the exit bound: a process still there when it fires has hung,
 * and the test fails. Nothing here measures time in an assertion.
 *
 * The race is made on purpose. A first callback X holds the default
 * worker until the exit barrier has queued its rendezvous; meanwhile a
 * callback B that never returns is queued behind X. When X returns, the
 * worker takes B and the rendezvous in one batch, and B blocks before the
 * rendezvous can run. "The rendezvous is queued" is read from the first
 * wait of whoever waits for it, which starts only once every rendezvous of
 * that barrier is queued:
 *  - native: liburcu's rcu_barrier(), in the library's helper thread,
 *    waits on its futex through syscall(), interposed here;
 *  - emulation: the exiting thread waits on the library's condition with
 *    pthread_cond_timedwait(), interposed here.
 */
#include "common.h"

#include <dlfcn.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>

/* The exit barrier's bound in the scenarios. */
#define EXIT_BOUND_MS	200

/* ---------------------------------------------------------------- */
/* "The rendezvous is queued"                                         */
/* ---------------------------------------------------------------- */

static int armed;		/* the scenario's main thread is on its way out */
static pthread_t main_thread;
static pthread_t worker;	/* the default worker, as X saw it */
static struct gate x_gate = GATE_INIT;	/* opened once the rendezvous is queued */

static void rendezvous_queued(void)
{
	gate_open(&x_gate);
}

/* The interposed functions' real ones, found once (liburcu calls them early). */
static long (*real_syscall)(long, ...);
static int (*real_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void find_real(void)
{
	void *sys = dlsym(RTLD_NEXT, "syscall");
	void *wait = dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");

	if (!wait)
		wait = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
	if (!sys || !wait)
		abort();
	memcpy(&real_syscall, &sys, sizeof(real_syscall));
	memcpy(&real_timedwait, &wait, sizeof(real_timedwait));
}

/*
 * liburcu's futex calls: syscall(SYS_futex, uaddr, op, val, timeout,
 * uaddr2, val3). Every argument is passed on.
 */
long syscall(long number, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	pthread_once(&real_once, find_real);
	if (URCU_COMPAT_NATIVE_BARRIER && number == SYS_futex &&
	    (a[1] & FUTEX_CMD_MASK) == FUTEX_WAIT && uatomic_read(&armed) &&
	    !pthread_equal(pthread_self(), CMM_LOAD_SHARED(worker)) &&
	    !pthread_equal(pthread_self(), main_thread))
		rendezvous_queued();
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
			   const struct timespec *abstime)
{
	pthread_once(&real_once, find_real);
	if (!URCU_COMPAT_NATIVE_BARRIER && uatomic_read(&armed) &&
	    pthread_equal(pthread_self(), main_thread))
		rendezvous_queued();
	return real_timedwait(cond, mutex, abstime);
}

/* ---------------------------------------------------------------- */
/* Scenarios (in their own process: no cmocka, failures are exit codes) */
/* ---------------------------------------------------------------- */

static int report_fd = -1;

/* One line to the test: "X", "B", or "T <ms>" (harness_now_ms()). */
static void report(const char *line)
{
	size_t len = strlen(line);

	if (write(report_fd, line, len) != (ssize_t)len)
		_exit(80);
}

static void report_time(void)
{
	char line[48];

	snprintf(line, sizeof(line), "T %.3f\n", harness_now_ms());
	report(line);
}

static struct rcu_head x_head, b_head;
static struct gate b_gate = GATE_INIT;	/* never opened */

/* X: holds the worker until the exit barrier's rendezvous is queued. */
static void x_cb(struct rcu_head *head)
{
	(void)head;
	CMM_STORE_SHARED(worker, pthread_self());
	gate_pass(&x_gate);	/* marks it entered, waits until opened */
	report("X\n");
}

/* B: taken in the same batch as the rendezvous, never returns. */
static void b_cb(struct rcu_head *head)
{
	(void)head;
	report("B\n");
	gate_pass(&b_gate);
}

/*
 * The exit barrier's rendezvous and a callback that never returns in one
 * batch of the default worker, in front of the rendezvous.
 */
static int scenario_blocked_in_exit_batch(void)
{
	rcu_register_thread();
	urcu_compat_set_exit_barriers(1, EXIT_BOUND_MS);
	call_rcu(&x_head, x_cb);	/* the default worker */
	gate_wait_entered(&x_gate);
	call_rcu(&b_head, b_cb);	/* queued behind X */
	uatomic_set(&armed, 1);
	report_time();
	return 0;	/* from main(): the exit barrier, then liburcu's teardown */
}

/*
 * exit() from a callback on the default worker, nothing queued behind:
 * the worker that would be stopped is the one running exit().
 */
static struct rcu_head exiter_head;

static void exiter_cb(struct rcu_head *head)
{
	(void)head;
	report("B\n");
	report_time();
	exit(0);
}

static int scenario_exit_from_callback(void)
{
	rcu_register_thread();
	urcu_compat_set_exit_barriers(1, EXIT_BOUND_MS);
	call_rcu(&exiter_head, exiter_cb);
	test_offline();
	for (;;)
		pause();
	return 0;	/* not reached */
}

/*
 * No default worker, and a worker of the main thread's own stuck in a
 * callback inside a read-side critical section, so that no grace period
 * ends: the exit barrier gives up. liburcu alone has no default worker to
 * free; one the library makes at exit must not hang it either.
 */
static struct rcu_head reader_head;
static struct gate reader_gate = GATE_INIT;	/* never opened */

static void stuck_reader_cb(struct rcu_head *head)
{
	(void)head;
	rcu_read_lock();
	report("B\n");
	gate_enter_and_wait(&reader_gate);	/* in the read side: stays online */
	rcu_read_unlock();
}

static int scenario_stuck_reader_no_default(void)
{
	struct call_rcu_data *own;

	rcu_register_thread();
	urcu_compat_set_exit_barriers(1, EXIT_BOUND_MS);
	own = create_call_rcu_data(0, -1);
	if (!own)
		return 10;
	set_thread_call_rcu_data(own);
	call_rcu(&reader_head, stuck_reader_cb);
	report_time();
	return 0;
}

static const struct scenario scenarios[] = {
	{ "blocked-in-exit-batch", scenario_blocked_in_exit_batch },
	{ "exit-from-callback", scenario_exit_from_callback },
	{ "stuck-reader-no-default", scenario_stuck_reader_no_default },
};

static int scenario_main(const char *name, const char *fdarg)
{
	main_thread = pthread_self();
	report_fd = atoi(fdarg);
	return run_scenario_named(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), name);
}

/* ---------------------------------------------------------------- */
/* The test process                                                    */
/* ---------------------------------------------------------------- */

/*
 * The exit barrier gives up behind a callback that never returns, taken
 * in the same batch as its rendezvous: the process still exits.
 */
static void test_exit_barrier_gives_up_in_a_blocked_batch(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("blocked-in-exit-batch", NULL, NULL, &out);
	/* The race happened as built: X was let go, the worker took B. */
	assert_true(scenario_count(&out, "X\n"));
	assert_true(scenario_count(&out, "B\n"));
	assert_scenario_exited(&out, 0);
}

/* exit() from a callback of the default worker, nothing queued behind it. */
static void test_exit_barrier_skipped_from_a_callback(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("exit-from-callback", NULL, NULL, &out);
	assert_true(scenario_count(&out, "B\n"));
	assert_scenario_exited(&out, 0);
}

/*
 * No default worker, grace periods stopped by a stuck reader: the exit
 * barrier gives up, and whatever the library does about the default
 * worker does not hang the exit.
 */
static void test_exit_barrier_gives_up_without_a_default_worker(void **state)
{
	struct scenario_run out;

	(void)state;
	harness_run_scenario("stuck-reader-no-default", NULL, NULL, &out);
	assert_true(scenario_count(&out, "B\n"));
	assert_scenario_exited(&out, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_barrier_gives_up_in_a_blocked_batch),
		cmocka_unit_test(test_exit_barrier_skipped_from_a_callback),
		cmocka_unit_test(test_exit_barrier_gives_up_without_a_default_worker),
	};

	if (argc == 4 && !strcmp(argv[1], "--scenario"))
		return scenario_main(argv[2], argv[3]);
	harness_find_self(argv[0]);
	return cmocka_run_group_tests_name("urcu_compat exit " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, NULL, NULL);
}
