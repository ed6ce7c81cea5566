/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test harness (harness.c, built into every C test executable): one
 * pthread_join() interposer, one child runner, one clock, the cmocka group
 * setup and teardown. Included by common.h, and by unload.h for the
 * program that does not link urcu-compat (harness.c is built for it with
 * HARNESS_WITHOUT_LIBRARY: no child runner, no barrier at teardown).
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* A gate a callback can block on, opened by the test (common.h). */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, open;
};

#define GATE_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }

/*
 * Mark g entered, then wait until it opens; the caller's RCU state is
 * left as it is (common.h's gate_pass() goes offline around it).
 */
void gate_enter_and_wait(struct gate *g);

struct call_rcu_data;

/*
 * A worker made by liburcu's create_call_rcu_data(0, -1) as code without
 * urcu-compat.h calls it (without_header.c): the library never saw it.
 */
struct call_rcu_data *create_worker_without_header(void);

/* ---------------------------------------------------------------- */
/* pthread_join() interposer                                          */
/* ---------------------------------------------------------------- */

/*
 * Every pthread_join() made in the process, by liburcu, by the library or
 * by the test, is logged, with what it returned (JOIN_RUNNING until it
 * returns). The count is a mark: what came after it is what a test made.
 */
#define JOIN_RUNNING	(-1)

/* The number of joins made so far: a mark. */
unsigned int join_mark(void);

/* Joins made since mark. */
unsigned int joins_since(unsigned int mark);

/*
 * Joins of tid logged between two marks (a pthread_t is reused once its
 * thread was joined); *last_ret, if given: what the last one returned.
 * UINT_MAX, which no check accepts, once the log has overflowed.
 */
unsigned int joins_of_between(pthread_t tid, unsigned int mark, unsigned int end,
			      int *last_ret);

/* joins_of_between() up to now. */
unsigned int joins_of_since(pthread_t tid, unsigned int mark, int *last_ret);

/* Joins made since mark by liburcu's own code (its call_rcu_data_free()). */
unsigned int joins_by_liburcu_since(unsigned int mark);

/*
 * A join of tid, a thread that never exits, is logged but not made (it
 * would never return): it returns EDEADLK until allow_all_joins().
 */
void refuse_join_of(pthread_t tid);
void allow_all_joins(void);

/* A join of tid, by anyone, enters g and waits there until g opens. */
void hold_join_of(pthread_t tid, struct gate *g);

/*
 * fn(tid, ret) after every join has returned, in the joining thread, until
 * observe_joins(NULL): for joins made where the log cannot be read any
 * more (at exit, by liburcu's destructor).
 */
void observe_joins(void (*fn)(pthread_t tid, int ret));

/* ---------------------------------------------------------------- */
/* Clock, setup, teardown                                             */
/* ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds: printed, or a watchdog's deadline. */
double harness_now_ms(void);

/* The calling thread's kernel thread id. */
pid_t harness_gettid(void);

/*
 * Return once the thread tid (of this process) is asleep in the kernel:
 * blocked on a lock, a condition, a poll() or a join. Reads its state in
 * /proc; 0, or -1 when /proc cannot tell.
 */
int harness_wait_asleep(pid_t tid);

/*
 * cmocka group setup: register the main thread and create the default
 * worker. liburcu 0.7 - 0.13.2 never stop the default worker; created
 * first, before any thread was joined, it gets a stack of its own, so that
 * valgrind.supp recognises its thread block by where it was made (a
 * recycled stack would carry an earlier thread's allocation).
 */
int harness_setup(void **state);

/*
 * cmocka group teardown: a barrier first (nothing is left queued: the
 * test process's own exit is not under test), then unregister.
 */
int harness_teardown(void **state);

#ifndef HARNESS_WITHOUT_LIBRARY
/* ---------------------------------------------------------------- */
/* Child processes                                                    */
/* ---------------------------------------------------------------- */

/*
 * A child that hangs is killed by SIGALRM after this many seconds, far
 * beyond what any child here needs: a hang is then a failure of its test
 * instead of a blocked suite. Never a measure of speed.
 */
#define CHILD_WATCHDOG_S	120

#define CHILD_FORK_HOOKS	0x1u	/* liburcu's call_rcu fork hooks around fork() */
#define CHILD_EXITS		0x2u	/* then exit(): destructors, exit barriers run */

/*
 * Run fn(arg) in a fork() child, under the watchdog, and return its
 * verdict (0: pass), read from a pipe: under a leak checker the child's
 * exit code is not the test's. argsize bytes of *arg come back with it
 * (0: none). The child then leaves with _exit(), or with exit(0) under
 * CHILD_EXITS; the runner returns once it is gone. -1: no verdict, or the
 * child was killed (watchdog, crash). A QSBR caller that is online is
 * offline meanwhile, and online in the child.
 */
int run_in_child(int (*fn)(void *), void *arg, size_t argsize, unsigned int flags);

/* The test executable, for fresh copies of itself; main() calls it first. */
void harness_find_self(const char *argv0);

/*
 * Start a fresh copy of this executable with args (a NULL-terminated
 * list, after the program name), env ("NAME=value", or NULL) added to its
 * environment; stdio flushed first. Returns its pid.
 */
pid_t harness_spawn_self(const char *const *args, const char *env);

/* waitpid(), offline for online QSBR callers: the raw status, -1 on error. */
int harness_wait(pid_t pid);

/* What a scenario run (harness_run_scenario()) wrote, and how it ended. */
struct scenario_run {
	int hung;		/* still there at the watchdog: killed */
	int status;		/* harness_wait()'s status, -1 if none */
	char lines[8192];	/* all it wrote on its report descriptor */
};

/*
 * Run the scenario name in a fresh copy of this executable, as
 * "--scenario NAME FD", with env added as harness_spawn_self() does, and
 * under valgrind (its path, with the suite's leak options) when valgrind
 * is not NULL. Collect what it writes on FD until the whole process is
 * gone (the last copy of FD closes with it), printed once it is; a
 * process still there after CHILD_WATCHDOG_S is killed and marked hung.
 */
void harness_run_scenario(const char *name, const char *env, const char *valgrind,
			  struct scenario_run *out);

/* How many times text occurs in what a scenario run wrote. */
int scenario_count(const struct scenario_run *run, const char *text);

/* A scenario that a fresh copy runs, by name: its exit status. */
struct scenario {
	const char *name;
	int (*run)(void);
};

/* Run the scenario called name from list (n of them); 101: none is. */
int run_scenario_named(const struct scenario *list, size_t n, const char *name);
#endif

#endif
