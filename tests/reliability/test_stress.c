/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress: everything at once, for URCU_COMPAT_STRESS_SECONDS (default 3).
 *
 *  - writers queue counted callbacks with call_rcu(): on the default
 *    worker, on a worker of their own, and on the per-CPU workers (no
 *    worker of their own: liburcu picks the CPU's, else the default);
 *  - barrier threads call urcu_compat_barrier() and
 *    urcu_compat_barrier_timeout() with bounds from 0 to 1000 ms;
 *  - a churn thread creates a worker, queues on it and frees it with
 *    urcu_compat_call_rcu_data_free();
 *  - a per-CPU thread creates the per-CPU workers and frees them;
 *  - a fork thread forks children that use RCU (call_rcu, their own
 *    worker, barriers, with liburcu's fork hooks) and children that just
 *    exit (without them);
 *  - the library's own allocations, thread creations and lock
 *    initialisations fail at random (URCU_COMPAT_STRESS_FAULTS: one call
 *    in N fails, default 50; 0 turns it off).
 *
 * Checked all the time: every callback whose call_rcu() returned before
 * a barrier started has run when that barrier returns 0 (counted per
 * writer); every callback runs exactly once (a flag in each); a barrier
 * that fails says why (a negative errno the API documents). The main
 * thread is the watchdog: no barrier, fork child or thread may outlive
 * URCU_COMPAT_STRESS_WATCHDOG seconds (default 60); a hang is reported,
 * and the test fails instead of hanging. At the end every thread is
 * joined, a last barrier runs, and nothing queued is missing.
 *
 * A fork() child sees the registered threads of its parent as they were.
 * Before a fork with liburcu's hooks, the test threads therefore park
 * between two operations, unregistered (QSBR: offline; signal: not sent
 * to; memb, mb, bp: in no read-side critical section), and the forking
 * thread is unregistered too. Children report through a pipe: under a
 * leak checker their exit status is not theirs.
 */
#include "../common.h"
#include "fault.h"

#include <execinfo.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <time.h>


#define WRITERS		6	/* 2 default, 2 own worker, 2 per-CPU */
#define CHURN		WRITERS	/* the churn thread counts as a writer */
#define NCOUNTED	(WRITERS + 1)
#define BARRIER_THREADS	2
#define BOUNDED_THREADS	2
#define MAX_INFLIGHT	20000	/* per writer: keeps memory bounded */
#define QUARANTINE	8192	/* callbacks kept after running, to see a second run */
#define CB_LIVE		0x5eedc0deUL
#define CB_RAN		0xdeadbeefUL

static unsigned int run_seconds = 3, watchdog_s = 60, fault_one_in = 50;

/*
 * Barriers run while per-CPU workers are detached and not yet freed
 * (the emulation once missed their callbacks there, doc/reliability.md).
 * URCU_COMPAT_STRESS_CPU_WINDOW=0 keeps barriers out of that window.
 */
static unsigned int cpu_window = 1;
static pthread_rwlock_t window_lock;

static void window_enter(int writer)
{
	if (cpu_window)
		return;
	test_offline();
	if (writer)
		pthread_rwlock_wrlock(&window_lock);
	else
		pthread_rwlock_rdlock(&window_lock);
	test_online();
}

static void window_leave(void)
{
	if (!cpu_window)
		pthread_rwlock_unlock(&window_lock);
}

static double now_s(void)
{
	return harness_now_ms() / 1000.0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- */
/* Counts                                                             */
/* ---------------------------------------------------------------- */

struct counted_writer {
	unsigned long queued;	/* call_rcu() returned */
	unsigned long ran;	/* callbacks run (first runs only) */
	int kind;		/* 0 default, 1 own worker, 2 per-CPU, 3 churn */
} __attribute__((aligned(64)));

static struct counted_writer cw[NCOUNTED];

static struct {
	unsigned long double_runs, corrupt;
	unsigned long barriers, barrier_errors, barrier_violations;
	unsigned long bounded_ok, bounded_timeout, bounded_errors, bounded_late;
	unsigned long enomem, eagain;
	unsigned long workers_created, workers_failed, cpu_rounds, cpu_workers;
	unsigned long forks_rcu, forks_exit, child_failures, child_hangs;
	unsigned long child_crashes, park_hangs;
	unsigned long max_barrier_us;
} st;

static int stop;
static double start_s;

/* A callback with a flag that tells a second run from the first. */
struct cb {
	struct rcu_head head;
	unsigned long state;
	struct counted_writer *w;
};

/* Ran callbacks are freed only once QUARANTINE later ones have run. */
static struct cb *quarantine[QUARANTINE];
static unsigned long quarantine_pos;

static void cb_run(struct rcu_head *head)
{
	struct cb *c = caa_container_of(head, struct cb, head);
	unsigned long old = uatomic_cmpxchg(&c->state, CB_LIVE, CB_RAN);
	unsigned long slot;

	if (old == CB_RAN) {
		uatomic_inc(&st.double_runs);
		return;
	}
	if (old != CB_LIVE) {
		uatomic_inc(&st.corrupt);
		return;
	}
	uatomic_inc(&c->w->ran);
	slot = uatomic_add_return(&quarantine_pos, 1) % QUARANTINE;
	free(uatomic_xchg(&quarantine[slot], c));
}

/* 0, or -1 when out of memory (the test's own allocation). */
static int queue_cb(struct counted_writer *w)
{
	struct cb *c = malloc(sizeof(*c));

	if (!c)
		return -1;
	c->state = CB_LIVE;
	c->w = w;
	call_rcu(&c->head, cb_run);
	uatomic_inc(&w->queued);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Parking around fork() with liburcu's hooks                         */
/* ---------------------------------------------------------------- */

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int fork_pending, parked, active;

/* active counts the participants from before they are created. */
static void participant_start(void)
{
	rcu_register_thread();
}

static void participant_end(void)
{
	rcu_unregister_thread();
	pthread_mutex_lock(&park_lock);
	active--;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

/* Between two operations: park, unregistered, while a fork is made. */
static void park_point(void)
{
	if (!uatomic_read(&fork_pending))
		return;
	rcu_unregister_thread();
	pthread_mutex_lock(&park_lock);
	parked++;
	pthread_cond_broadcast(&park_cond);
	while (fork_pending)
		pthread_cond_wait(&park_cond, &park_lock);
	parked--;
	pthread_mutex_unlock(&park_lock);
	rcu_register_thread();
}

/* 0 once every participant is parked; -1 after the watchdog. */
static int park_all(void)
{
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += watchdog_s;
	pthread_mutex_lock(&park_lock);
	uatomic_set(&fork_pending, 1);
	while (parked < active && ret == 0)
		if (pthread_cond_timedwait(&park_cond, &park_lock, &deadline) == ETIMEDOUT)
			ret = -1;
	pthread_mutex_unlock(&park_lock);
	return ret;
}

static void unpark_all(void)
{
	pthread_mutex_lock(&park_lock);
	uatomic_set(&fork_pending, 0);
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

/* ---------------------------------------------------------------- */
/* Watched operations                                                 */
/* ---------------------------------------------------------------- */

/* What each thread is in, since when (0: nothing watched). */
#define WATCHED_MAX	16
static struct {
	const char *name;
	unsigned long since_ms;	/* 0: not in it */
} watched[WATCHED_MAX];
static int nwatched;

static int watch_slot(const char *name)
{
	int slot = uatomic_add_return(&nwatched, 1) - 1;

	if (slot >= WATCHED_MAX)
		abort();
	watched[slot].name = name;
	return slot;
}

static unsigned long now_ms(void)
{
	return (unsigned long)(now_s() * 1000.0) + 1;
}

static void watch_begin(int slot)
{
	uatomic_set(&watched[slot].since_ms, now_ms());
}

static void watch_end(int slot)
{
	uatomic_set(&watched[slot].since_ms, 0);
}

/* ---------------------------------------------------------------- */
/* Writers                                                            */
/* ---------------------------------------------------------------- */

static void throttle(struct counted_writer *w)
{
	while (uatomic_read(&w->queued) - uatomic_read(&w->ran) > MAX_INFLIGHT &&
	       !uatomic_read(&stop)) {
		test_offline();
		sleep_ms(1);
		test_online();
		park_point();
	}
}

static void *writer_thread(void *p)
{
	struct counted_writer *w = p;
	struct call_rcu_data *own = NULL;
	int i;

	participant_start();
	if (w->kind == 0) {
		test_offline();	/* may wait for liburcu's mutex */
		set_thread_call_rcu_data(get_default_call_rcu_data());
		test_online();
	} else if (w->kind == 1) {
		test_offline();
		own = create_call_rcu_data(0, -1);
		test_online();
		if (own) {
			uatomic_inc(&st.workers_created);
			set_thread_call_rcu_data(own);
		} else {
			uatomic_inc(&st.workers_failed);	/* queues on the default */
		}
	}
	while (!uatomic_read(&stop)) {
		for (i = 0; i < 64; i++)
			if (queue_cb(w))
				break;
		test_quiescent();
		throttle(w);
		park_point();
	}
	set_thread_call_rcu_data(NULL);
	if (own) {
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(own);
	}
	participant_end();
	return NULL;
}

/* Creates a worker, queues on it, frees it. */
static void *churn_thread(void *p)
{
	struct counted_writer *w = p;
	struct call_rcu_data *crdp;
	int slot = watch_slot("worker churn"), i;

	participant_start();
	while (!uatomic_read(&stop)) {
		test_offline();
		crdp = create_call_rcu_data(0, -1);
		test_online();
		if (!crdp) {
			uatomic_inc(&st.workers_failed);
			park_point();
			continue;
		}
		uatomic_inc(&st.workers_created);
		set_thread_call_rcu_data(crdp);
		for (i = 0; i < 50; i++)
			if (queue_cb(w))
				break;
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		watch_begin(slot);
		urcu_compat_call_rcu_data_free(crdp);
		watch_end(slot);
		park_point();
	}
	participant_end();
	return NULL;
}

/* Per-CPU workers: created, used a while by the writers, freed. */
static void *cpu_thread(void *p)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	struct call_rcu_data *crdp[256];
	int slot = watch_slot("per-CPU worker free"), n;

	(void)p;
	if (ncpus > 256)
		ncpus = 256;
	participant_start();
	while (!uatomic_read(&stop)) {
		test_offline();
		if (create_all_cpu_call_rcu_data(0) == 0)
			uatomic_inc(&st.cpu_rounds);
		test_online();
		for (n = 0; n < 20 && !uatomic_read(&stop); n++) {
			test_offline();
			sleep_ms(2);
			test_online();
			park_point();
		}
		/* Detach, wait for a grace period, free and join. */
		window_enter(1);
		test_offline();
		for (cpu = 0; cpu < ncpus; cpu++) {
			rcu_read_lock();
			crdp[cpu] = get_cpu_call_rcu_data((int)cpu);
			rcu_read_unlock();
			if (crdp[cpu] && set_cpu_call_rcu_data((int)cpu, NULL))
				crdp[cpu] = NULL;
		}
		test_online();
		synchronize_rcu();
		watch_begin(slot);
		for (cpu = 0; cpu < ncpus; cpu++) {
			if (!crdp[cpu])
				continue;
			uatomic_inc(&st.cpu_workers);
			urcu_compat_call_rcu_data_free(crdp[cpu]);
		}
		watch_end(slot);
		window_leave();
		park_point();
	}
	participant_end();
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Barriers                                                           */
/* ---------------------------------------------------------------- */

static void note_error(int ret, unsigned long *errors)
{
	if (ret == -ENOMEM)
		uatomic_inc(&st.enomem);
	else if (ret == -EAGAIN)
		uatomic_inc(&st.eagain);
	else
		uatomic_inc(errors);	/* nothing else is expected here */
}

static void check_covered(const unsigned long *before)
{
	int j;

	for (j = 0; j < NCOUNTED; j++) {
		if (uatomic_read(&cw[j].ran) < before[j]) {
			uatomic_inc(&st.barrier_violations);
			fprintf(stderr, "# barrier returned with %lu of writer %d's %lu callbacks not run\n",
				before[j] - uatomic_read(&cw[j].ran), j, before[j]);
		}
	}
}

static void note_duration(double t0)
{
	unsigned long us = (unsigned long)((now_s() - t0) * 1e6), max;

	while (us > (max = uatomic_read(&st.max_barrier_us)))
		if (uatomic_cmpxchg(&st.max_barrier_us, max, us) == max)
			break;
}

static void *barrier_thread(void *p)
{
	int bounded = *(int *)p, slot, j, ret;
	unsigned long before[NCOUNTED];
	unsigned int bounds[] = { 0, 1, 10, 100, 1000 };
	unsigned int n = 0, bound = 0;
	double t0;

	slot = watch_slot(bounded ? "bounded barrier" : "barrier");
	participant_start();
	while (!uatomic_read(&stop)) {
		for (j = 0; j < NCOUNTED; j++)
			before[j] = uatomic_read(&cw[j].queued);
		window_enter(0);
		t0 = now_s();
		watch_begin(slot);
		if (bounded) {
			bound = bounds[n++ % (sizeof(bounds) / sizeof(bounds[0]))];
			ret = urcu_compat_barrier_timeout(bound);
		} else {
			ret = urcu_compat_barrier();
		}
		watch_end(slot);
		window_leave();
		note_duration(t0);
		if (ret == 0) {
			check_covered(before);
			uatomic_inc(bounded ? &st.bounded_ok : &st.barriers);
		} else if (bounded && ret == -ETIMEDOUT) {
			uatomic_inc(&st.bounded_timeout);
		} else {
			note_error(ret, bounded ? &st.bounded_errors : &st.barrier_errors);
		}
		/* A bound is kept to within a second, valgrind or not. */
		if (bounded && now_s() - t0 > bound / 1000.0 + 1.0)
			uatomic_inc(&st.bounded_late);
		test_quiescent();
		park_point();
	}
	participant_end();
	return NULL;
}

/* ---------------------------------------------------------------- */
/* fork() children                                                    */
/* ---------------------------------------------------------------- */

static unsigned long child_ran;
static struct counted_writer child_w;

/* In a child with liburcu's hooks: RCU works. 0: pass. */
static int child_uses_rcu(void)
{
	struct call_rcu_data *own;
	int i, ret = 0;

	rcu_register_thread();
	memset(&child_w, 0, sizeof(child_w));
	for (i = 0; i < 20; i++)
		if (queue_cb(&child_w))
			return 10;
	own = create_call_rcu_data(0, -1);
	if (own) {
		set_thread_call_rcu_data(own);
		for (i = 0; i < 20; i++)
			if (queue_cb(&child_w))
				return 11;
		set_thread_call_rcu_data(NULL);
	}
	/* The library's faults may still hit here: only errors it documents. */
	ret = urcu_compat_barrier();
	if (ret == 0 && uatomic_read(&child_w.ran) != uatomic_read(&child_w.queued))
		return 12;
	if (ret && ret != -ENOMEM)
		return 13;
	if (own) {
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(own);
	}
	ret = urcu_compat_barrier_timeout(watchdog_s * 1000U / 2);
	if (ret && ret != -ENOMEM && ret != -EAGAIN)
		return 14;
	if (ret == 0 && uatomic_read(&child_w.ran) != uatomic_read(&child_w.queued))
		return 15;
	child_ran = uatomic_read(&child_w.ran);
	rcu_unregister_thread();
	return 0;
}

/* A crashing child says where, then dies of its signal. */
static char crash_msg[64] = "# fork child crashed:\n";

static void child_crash(int sig)
{
	void *frames[32];
	int n = backtrace(frames, 32);

	if (write(2, crash_msg, strlen(crash_msg)) > 0)
		backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* cmocka's handlers belong to the parent's test, not to a child. */
static void default_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], child_crash);
}

/*
 * Wait for a child's verdict and its end, both bounded by the watchdog.
 * 0: passed; 1: failed; 2: hung (killed). *status_out: its wait status.
 */
static int reap_child(pid_t pid, int fd, int want_verdict)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	double deadline = now_s() + watchdog_s;
	char verdict = 1;
	int status = 0, ret = 0;

	if (want_verdict) {
		if (poll(&pfd, 1, (int)watchdog_s * 1000) != 1) {
			kill(pid, SIGKILL);
			ret = 2;
		} else if (read(fd, &verdict, 1) != 1) {
			fprintf(stderr, "# fork child: no verdict\n");
			ret = 1;
		} else if (verdict != 0) {
			fprintf(stderr, "# fork child: verdict %d\n", verdict);
			ret = 1;
		}
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			return 1;
		if (now_s() > deadline) {
			kill(pid, SIGKILL);
			ret = 2;
			deadline = now_s() + 3600;	/* SIGKILL cannot be ignored */
		}
		sleep_ms(1);
	}
	if (ret == 1 && WIFEXITED(status))
		fprintf(stderr, "# fork child exit status %d\n", WEXITSTATUS(status));
	if (WIFSIGNALED(status) && ret != 2) {
		fprintf(stderr, "# fork child killed by signal %d\n", WTERMSIG(status));
		uatomic_inc(&st.child_crashes);
		ret = 1;
	}
	return ret;
}

static void fork_with_hooks(void)
{
	char verdict;
	int fds[2], ret;
	pid_t pid;

	if (park_all()) {
		uatomic_inc(&st.park_hangs);
		unpark_all();
		return;
	}
	if (pipe(fds)) {
		unpark_all();
		return;
	}
	fflush(stdout);
	fflush(stderr);
	call_rcu_before_fork();
	snprintf(crash_msg, sizeof(crash_msg), "# fork child %lu with hooks, %.3f s in, crashed:\n",
		 uatomic_read(&st.forks_rcu) + 1, now_s() - start_s);
	pid = fork();
	if (pid == 0) {
		default_signals();
		call_rcu_after_fork_child();
		verdict = (char)child_uses_rcu();
		if (write(fds[1], &verdict, 1) != 1)
			_exit(3);
		exit(0);	/* the exit barriers run, too */
	}
	call_rcu_after_fork_parent();
	unpark_all();
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return;
	}
	uatomic_inc(&st.forks_rcu);
	ret = reap_child(pid, fds[0], 1);
	close(fds[0]);
	if (ret == 1)
		uatomic_inc(&st.child_failures);
	else if (ret == 2)
		uatomic_inc(&st.child_hangs);
}

/*
 * No hooks, no parking: a child of a busy process. Its barrier is refused
 * at once (-ESRCH: its workers' threads are the parent's), then it leaves
 * with _exit(). Not exit(): in the child of a multithreaded process only
 * async-signal-safe calls are defined, and liburcu 0.12.5, 0.13.3 and
 * later hang in their own exit handler when a parent thread held
 * call_rcu_mutex or rcu_gp_lock at fork() (seen on 0.15, with or without
 * the library). The library's exit in such a child is test_lifecycle's
 * test_fork_child_without_handlers_exits.
 */
static void fork_and_exit(void)
{
	char verdict;
	int fds[2], ret;
	pid_t pid;

	if (pipe(fds))
		return;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		default_signals();
		verdict = urcu_compat_barrier() == -ESRCH ? 0 : 1;
		if (write(fds[1], &verdict, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return;
	}
	uatomic_inc(&st.forks_exit);
	ret = reap_child(pid, fds[0], 1);
	close(fds[0]);
	if (ret == 1)
		uatomic_inc(&st.child_failures);
	else if (ret == 2)
		uatomic_inc(&st.child_hangs);
}

static void *fork_thread(void *p)
{
	unsigned int n = 0;

	(void)p;
	/* Not registered: nothing of it is left behind in a child. */
	while (!uatomic_read(&stop)) {
		if (n++ & 1)
			fork_and_exit();
		else
			fork_with_hooks();
		sleep_ms(20);
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* The test: the main thread is the watchdog                          */
/* ---------------------------------------------------------------- */

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	n = strtoul(v, &end, 10);
	return *end || n > UINT_MAX ? dflt : (unsigned int)n;
}

/* Join with the watchdog's bound; 0: joined. */
static int join_bounded(pthread_t tid)
{
	struct timespec deadline;

	/* Longer than a child's reaping, which the fork thread may be in. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 3 * (time_t)watchdog_s;
	return pthread_timedjoin_np(tid, NULL, &deadline);
}

#define NTHREADS (WRITERS + 3 + BARRIER_THREADS + BOUNDED_THREADS)

/*
 * The run lasts run_seconds, and then on until it has made the barrier
 * and the fork with hooks that the checks below need: on a loaded
 * machine (valgrind beside other tests) the first of each can come later
 * than the run's end. A run that still has neither 4 watchdog periods
 * later gives up, and those checks fail.
 */
static int run_covered(void)
{
	return uatomic_read(&st.barriers) > 0 && uatomic_read(&st.forks_rcu) > 0;
}

static void test_stress(void **state)
{
	static int unbounded = 0, bounded = 1;
	pthread_t tids[NTHREADS];
	unsigned long queued = 0, ran = 0, unjoined = 0, hung = 0, joins;
	double t0 = now_s(), end = t0 + run_seconds, give_up = end + 4.0 * watchdog_s;
	unsigned int join_start = join_mark();

	start_s = t0;
	unsigned long since;
	int n = 0, i, ok;

	(void)state;
	memset(cw, 0, sizeof(cw));
	for (i = 0; i < WRITERS; i++)
		cw[i].kind = i % 3;
	cw[CHURN].kind = 3;
	active = NTHREADS - 1;	/* every thread but the forking one */
	if (fault_one_in) {
		assert_true(fault_ready());
		fault_arm_random(FAULT_ALL, fault_one_in);
	}

	for (i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&tids[n++], NULL, writer_thread, &cw[i]), 0);
	assert_int_equal(pthread_create(&tids[n++], NULL, churn_thread, &cw[CHURN]), 0);
	assert_int_equal(pthread_create(&tids[n++], NULL, cpu_thread, NULL), 0);
	for (i = 0; i < BARRIER_THREADS; i++)
		assert_int_equal(pthread_create(&tids[n++], NULL, barrier_thread, &unbounded), 0);
	for (i = 0; i < BOUNDED_THREADS; i++)
		assert_int_equal(pthread_create(&tids[n++], NULL, barrier_thread, &bounded), 0);
	assert_int_equal(pthread_create(&tids[n++], NULL, fork_thread, NULL), 0);
	assert_int_equal(n, NTHREADS);

	/* Watchdog: no watched operation may last longer than the bound. */
	while (!hung && (now_s() < end || (!run_covered() && now_s() < give_up))) {
		sleep_ms(50);
		for (i = 0; i < uatomic_read(&nwatched); i++) {
			since = uatomic_read(&watched[i].since_ms);
			if (since && now_ms() - since > watchdog_s * 1000UL) {
				fprintf(stderr, "# watchdog: %s running for more than %u s\n",
					watched[i].name, watchdog_s);
				hung++;
			}
		}
	}
	/* Parked threads stay parked until the fork in progress is done. */
	uatomic_set(&stop, 1);
	for (i = 0; i < NTHREADS; i++) {
		if (join_bounded(tids[i])) {
			fprintf(stderr, "# watchdog: thread %d not joined after %u s\n",
				i, 3 * watchdog_s);
			unjoined++;
		}
	}
	fault_disarm();
	joins = joins_since(join_start);	/* workers' and the test's threads' */

	/* Nothing queued may be missing once every thread is gone. */
	if (!unjoined) {
		ok = urcu_compat_barrier_timeout(watchdog_s * 1000U);
		if (ok)
			fprintf(stderr, "# last barrier returned %d\n", ok);
		assert_int_equal(ok, 0);
	}
	for (i = 0; i < NCOUNTED; i++) {
		queued += cw[i].queued;
		ran += uatomic_read(&cw[i].ran);
	}

	printf("# %s %s, %.1f s: callbacks %lu queued, %lu ran, %lu lost, %lu ran twice\n",
	       URCU_COMPAT_FLAVOR_NAME, TEST_MODE_NAME, now_s() - t0, queued, ran,
	       queued - ran, st.double_runs);
	printf("# barriers %lu, bounded %lu (+%lu timed out, %lu late), errors: %lu ENOMEM %lu EAGAIN %lu other;"
	       " longest %.1f ms\n",
	       st.barriers, st.bounded_ok, st.bounded_timeout, st.bounded_late, st.enomem,
	       st.eagain, st.barrier_errors + st.bounded_errors, st.max_barrier_us / 1000.0);
	printf("# workers created %lu (%lu creations failed), per-CPU rounds %lu (%lu workers freed);"
	       " %lu joins\n",
	       st.workers_created, st.workers_failed, st.cpu_rounds, st.cpu_workers, joins);
	printf("# forks %lu with hooks using RCU, %lu just exiting; %lu failed, %lu hung, %lu crashed\n",
	       st.forks_rcu, st.forks_exit, st.child_failures, st.child_hangs, st.child_crashes);
	printf("# faults injected %lu (one library call in %u); hung %lu, unjoined %lu%s\n",
	       fault_injected(), fault_one_in, hung + st.park_hangs, unjoined,
	       cpu_window ? "" : "; barriers kept out of per-CPU detach windows");

	assert_int_equal(hung, 0);
	assert_int_equal(st.park_hangs, 0);
	assert_int_equal(unjoined, 0);
	assert_int_equal(st.barrier_violations, 0);
	assert_int_equal(st.double_runs, 0);
	assert_int_equal(st.corrupt, 0);
	assert_int_equal(st.barrier_errors + st.bounded_errors, 0);
	assert_int_equal(st.child_failures, 0);
	assert_int_equal(st.child_hangs, 0);
	assert_int_equal(queued, ran);
	assert_true(st.barriers > 0);
	assert_true(st.forks_rcu > 0);
	for (i = 0; i < QUARANTINE; i++)
		free(quarantine[i]);
}

int main(void)
{
	pthread_rwlockattr_t rwattr;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};

	run_seconds = env_uint("URCU_COMPAT_STRESS_SECONDS", run_seconds);
	watchdog_s = env_uint("URCU_COMPAT_STRESS_WATCHDOG", watchdog_s);
	fault_one_in = env_uint("URCU_COMPAT_STRESS_FAULTS", fault_one_in);
	cpu_window = env_uint("URCU_COMPAT_STRESS_CPU_WINDOW", cpu_window);
	pthread_rwlockattr_init(&rwattr);
	pthread_rwlockattr_setkind_np(&rwattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&window_lock, &rwattr);
	if (!watchdog_s)
		watchdog_s = 1;
	return cmocka_run_group_tests_name("urcu_compat stress " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, NULL, NULL);
}
