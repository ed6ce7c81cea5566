/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test harness: see harness.h. Built into every C test executable;
 * with HARNESS_WITHOUT_LIBRARY for the program that does not link
 * urcu-compat (test_unload.c), and with HARNESS_NO_JOIN_INTERPOSER where
 * ThreadSanitizer keeps pthread_join() for itself (joins then count 0).
 */
#ifdef HARNESS_WITHOUT_LIBRARY
#include "unload.h"
#else
#include "common.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void gate_enter_and_wait(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* ---------------------------------------------------------------- */
/* pthread_join() interposer                                          */
/* ---------------------------------------------------------------- */

#define JOIN_LOG_MAX	4096

struct join_record {
	pthread_t tid;
	int ret;	/* JOIN_RUNNING until the join returned */
	void *caller;	/* the join's return address */
};

static pthread_mutex_t join_lock = PTHREAD_MUTEX_INITIALIZER;
static struct join_record join_log[JOIN_LOG_MAX];
static unsigned int join_calls;
static pthread_t join_refused;	/* a thread that never exits: joining it hangs */
static int join_refuse_set;
static pthread_t join_held;	/* its join waits for join_hold to open */
static struct gate *join_hold;
static void (*join_observer)(pthread_t tid, int ret);

#ifndef HARNESS_NO_JOIN_INTERPOSER
static int (*real_join)(pthread_t, void **);
static pthread_once_t real_join_once = PTHREAD_ONCE_INIT;

static void find_real_join(void)
{
	void *sym = dlsym(RTLD_NEXT, "pthread_join");

	if (!sym)
		abort();
	memcpy(&real_join, &sym, sizeof(real_join));
}

int pthread_join(pthread_t tid, void **retval)
{
	void (*observer)(pthread_t tid, int ret);
	struct gate *hold;
	unsigned int slot;
	int refuse, ret;

	pthread_once(&real_join_once, find_real_join);
	pthread_mutex_lock(&join_lock);
	slot = join_calls++;
	if (slot < JOIN_LOG_MAX) {
		join_log[slot].tid = tid;
		join_log[slot].ret = JOIN_RUNNING;
		join_log[slot].caller = __builtin_return_address(0);
	}
	refuse = join_refuse_set && pthread_equal(tid, join_refused);
	hold = join_hold && pthread_equal(tid, join_held) ? join_hold : NULL;
	pthread_mutex_unlock(&join_lock);

	/* Not gate_pass(): the RCU state of the joining thread is not ours. */
	if (hold)
		gate_enter_and_wait(hold);

	/* A join of the refused thread is logged, not made: it would never return. */
	ret = refuse ? EDEADLK : real_join(tid, retval);

	pthread_mutex_lock(&join_lock);
	if (slot < JOIN_LOG_MAX)
		join_log[slot].ret = ret;
	observer = join_observer;
	pthread_mutex_unlock(&join_lock);
	if (observer)
		observer(tid, ret);
	return ret;
}
#endif

void observe_joins(void (*fn)(pthread_t tid, int ret))
{
	pthread_mutex_lock(&join_lock);
	join_observer = fn;
	pthread_mutex_unlock(&join_lock);
}

unsigned int join_mark(void)
{
	unsigned int mark;

	pthread_mutex_lock(&join_lock);
	mark = join_calls;
	pthread_mutex_unlock(&join_lock);
	return mark;
}

unsigned int joins_since(unsigned int mark)
{
	return join_mark() - mark;
}

unsigned int joins_of_between(pthread_t tid, unsigned int mark, unsigned int end,
			      int *last_ret)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&join_lock);
	if (join_calls > JOIN_LOG_MAX) {
		pthread_mutex_unlock(&join_lock);
		return UINT_MAX;
	}
	for (i = mark; i < end && i < join_calls; i++) {
		if (!pthread_equal(join_log[i].tid, tid))
			continue;
		n++;
		if (last_ret)
			*last_ret = join_log[i].ret;
	}
	pthread_mutex_unlock(&join_lock);
	return n;
}

unsigned int joins_of_since(pthread_t tid, unsigned int mark, int *last_ret)
{
	return joins_of_between(tid, mark, UINT_MAX, last_ret);
}

/* liburcu's own code, not urcu-compat's: the object's file name says. */
static int in_liburcu(void *addr)
{
	Dl_info info;
	const char *base;

	if (!dladdr(addr, &info) || !info.dli_fname)
		return 0;
	base = strrchr(info.dli_fname, '/');
	base = base ? base + 1 : info.dli_fname;
	return !strncmp(base, "liburcu", 7) && strncmp(base, "liburcu-compat", 14) != 0;
}

unsigned int joins_by_liburcu_since(unsigned int mark)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&join_lock);
	for (i = mark; i < join_calls && i < JOIN_LOG_MAX; i++)
		n += in_liburcu(join_log[i].caller);
	pthread_mutex_unlock(&join_lock);
	return n;
}

void refuse_join_of(pthread_t tid)
{
	pthread_mutex_lock(&join_lock);
	join_refused = tid;
	join_refuse_set = 1;
	pthread_mutex_unlock(&join_lock);
}

void allow_all_joins(void)
{
	pthread_mutex_lock(&join_lock);
	join_refuse_set = 0;
	pthread_mutex_unlock(&join_lock);
}

void hold_join_of(pthread_t tid, struct gate *g)
{
	pthread_mutex_lock(&join_lock);
	join_held = tid;
	join_hold = g;
	pthread_mutex_unlock(&join_lock);
}

/* ---------------------------------------------------------------- */
/* Clock, setup, teardown                                             */
/* ---------------------------------------------------------------- */

pid_t harness_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

int harness_wait_asleep(pid_t tid)
{
	char path[64], buf[256], *state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", (long)tid);
	for (;;) {
		f = fopen(path, "r");
		if (!f)
			return -1;
		state = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!state || !state[1] || !state[2])
			return -1;
		if (state[2] == 'S' || state[2] == 'D')
			return 0;
		sched_yield();
	}
}

double harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

int harness_setup(void **state)
{
	(void)state;
	rcu_register_thread();
	return get_default_call_rcu_data() ? 0 : -1;
}

int harness_teardown(void **state)
{
	(void)state;
#ifndef HARNESS_WITHOUT_LIBRARY
	if (urcu_compat_barrier())
		return -1;
#endif
	rcu_unregister_thread();
	return 0;
}

#ifndef HARNESS_WITHOUT_LIBRARY
/* ---------------------------------------------------------------- */
/* Child processes                                                    */
/* ---------------------------------------------------------------- */

/*
 * QSBR: offline while blocked, if online at all (a thread that is not
 * registered must stay as it is). Returns what online_again() needs.
 */
static int offline_if_online(void)
{
#if URCU_COMPAT_IS_QSBR
	if (test_qsbr_online()) {
		rcu_thread_offline();
		return 1;
	}
#endif
	return 0;
}

static void online_again(int was_online)
{
	if (was_online)
		test_online();
}

struct gated dflt_gated, own_gated;

int open_gates(void **state)
{
	(void)state;
	gate_open(&dflt_gated.gate);
	gate_open(&own_gated.gate);
	return 0;
}

/* read() all of len bytes; 0 when they came. */
static int read_all(int fd, void *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

int run_in_child(int (*fn)(void *), void *arg, size_t argsize, unsigned int flags)
{
	int hooks = flags & CHILD_FORK_HOOKS;
	char verdict = 1;
	int fds[2], status, was_online;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	fflush(stderr);
	/* QSBR: liburcu's fork hook may wait for workers that wait for us. */
	was_online = offline_if_online();
	if (hooks)
		call_rcu_before_fork();
	pid = fork();
	if (pid == 0) {
		alarm(CHILD_WATCHDOG_S);
		close(fds[0]);
		if (hooks)
			call_rcu_after_fork_child();
		online_again(was_online);
		verdict = (char)fn(arg);
		if (write(fds[1], &verdict, 1) != 1 ||
		    (argsize && write(fds[1], arg, argsize) != (ssize_t)argsize))
			_exit(2);
		if (flags & CHILD_EXITS)
			exit(0);
		_exit(0);
	}
	if (hooks)
		call_rcu_after_fork_parent();
	close(fds[1]);
	if (pid < 0 || read_all(fds[0], &verdict, 1) ||
	    (argsize && read_all(fds[0], arg, argsize)))
		verdict = -1;
	close(fds[0]);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status)) {
			printf("# child %d killed by signal %d\n", (int)pid, WTERMSIG(status));
			verdict = -1;
		}
	}
	online_again(was_online);
	return verdict;
}

static const char *self_exe;

void harness_find_self(const char *argv0)
{
	static char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len > 0) {
		exe[len] = '\0';
		self_exe = exe;
	} else {
		self_exe = argv0;
	}
}

/* Start argv (argv[0] a path) with env added to the environment. */
static pid_t spawn(const char *const *argv, const char *env)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (env)
			putenv((char *)env);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t harness_spawn_self(const char *const *args, const char *env)
{
	const char *argv[8];
	size_t i;

	argv[0] = self_exe;
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	return spawn(argv, env);
}

void harness_run_scenario(const char *name, const char *env, const char *valgrind,
			  struct scenario_run *out)
{
	double deadline = harness_now_ms() + CHILD_WATCHDOG_S * 1000.0;
	const char *args[] = { "--scenario", name, NULL, NULL };
	const char *under_valgrind[] = {
		valgrind, "--quiet", "--error-exitcode=99", "--leak-check=full",
		"--show-leak-kinds=definite,indirect,possible",
		"--errors-for-leak-kinds=definite,indirect,possible",
		self_exe, "--scenario", name, NULL, NULL
	};
	struct pollfd pfd;
	size_t len = 0;
	char fdarg[16];
	int fds[2], ret;
	ssize_t n;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	assert_int_equal(pipe(fds), 0);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
	args[2] = fdarg;
	under_valgrind[9] = fdarg;
	pid = valgrind ? spawn(under_valgrind, env) : harness_spawn_self(args, env);
	assert_true(pid > 0);
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (len < sizeof(out->lines) - 1) {
		double left = deadline - harness_now_ms();

		if (left <= 0) {
			out->hung = 1;
			break;
		}
		ret = poll(&pfd, 1, (int)left + 1);
		if (ret < 0 && errno == EINTR)
			continue;
		assert_true(ret >= 0);
		if (ret == 0)
			continue;
		n = read(fds[0], out->lines + len, sizeof(out->lines) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the process is gone */
		len += (size_t)n;
	}
	close(fds[0]);
	if (out->hung) {
		printf("# scenario %s: still there after %d s, killed\n", name, CHILD_WATCHDOG_S);
		kill(pid, SIGKILL);
	}
	out->status = harness_wait(pid);
	printf("# %s%s (status %#x):\n%s", name, valgrind ? " under valgrind" : "",
	       (unsigned int)out->status, out->lines);
	assert_true(out->status != -1);
}

int scenario_count(const struct scenario_run *run, const char *text)
{
	const char *p;
	int n = 0;

	for (p = strstr(run->lines, text); p; p = strstr(p + 1, text))
		n++;
	return n;
}

int harness_wait(pid_t pid)
{
	int status, ret, was_online = offline_if_online();

	do
		ret = waitpid(pid, &status, 0);
	while (ret < 0 && errno == EINTR);
	online_again(was_online);
	return ret == pid ? status : -1;
}

int run_scenario_named(const struct scenario *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return list[i].run();
	return 101;
}
#endif
