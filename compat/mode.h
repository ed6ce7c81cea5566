/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode.h - the one interface between the shared parts of urcu-compat.c
 * (checks-impl.h, worker-stop-impl.h, fork-exit-impl.h) and the mode in use:
 * emulation-impl.h (liburcu 0.7, or forced) or native-impl.h (liburcu 0.8+).
 * Exactly one of the two defines these functions, with the same meaning;
 * the shared parts call nothing else of a mode. No lock of the library is
 * held on entry unless the contract says so.
 */
#ifndef URCU_COMPAT_MODE_H
#define URCU_COMPAT_MODE_H

#include <pthread.h>
#include <time.h>

struct call_rcu_data;

/*
 * Wait until every callback queued before the call has run, or until
 * deadline (NULL: no bound; began: when the call began, on
 * CLOCK_MONOTONIC, kept for the stall report when it gives up). The
 * caller passed the misuse checks. Returns 0, -ETIMEDOUT, -ENOMEM (a
 * worker could not be tracked) or -errno (no helper thread).
 */
static int mode_barrier(const struct timespec *deadline, const struct timespec *began);

/*
 * The stall report (stall-impl.h): the workers the most recent barrier
 * that gave up still waits for, at most max of them in out; returns how
 * many there are. Takes the mode's locks briefly; any thread.
 */
static int mode_stalls(struct urcu_compat_stall *out, int max);

/*
 * The emulation: crdp, just created through the header, gets the exit
 * watch p, which its first rendezvous plants (watch_plant_here()). Native
 * mode never calls it.
 */
struct exit_watch;
static void mode_watch_worker(struct call_rcu_data *crdp, struct exit_watch *p);

/* liburcu handed crdp out as its default worker (NULL: nothing to note). */
static void mode_saw_default_worker(struct call_rcu_data *crdp);

/*
 * Free crdp, neither NULL nor the default worker, with liburcu's
 * call_rcu_data_free() behind the gate, without losing a callback a
 * barrier waits for. Joins nothing: the caller does (worker-stop-impl.h).
 */
static void mode_free_worker(struct call_rcu_data *crdp);

/*
 * liburcu's free_all_cpu_call_rcu_data(), behind the gate, losing nothing,
 * between cpu_detach_begin() and cpu_detach_end() (route-impl.h).
 */
static void mode_free_all_cpu_workers(void);

/*
 * set_cpu_call_rcu_data(cpu, NULL), between cpu_detach_begin() and
 * cpu_detach_end(), losing nothing: liburcu's return value.
 */
static int mode_detach_cpu_worker(int cpu);

/*
 * The library's worker: create_call_rcu_data(0, -1), one barriers cover;
 * NULL if it cannot be made. Called under route_lock.
 */
static struct call_rcu_data *mode_create_worker(void);

/*
 * call_rcu() may reach liburcu's default worker (the route is closed, or
 * a per-CPU worker is being detached): the emulation notes it, creating
 * it, so that barriers cover it; native mode has nothing to do.
 */
static void mode_route_to_default(void);

/*
 * Whether the process may have call_rcu workers, whose threads a fork()
 * child would lose. Called between mode_fork_prepare() and the fork.
 */
static int mode_may_have_workers(void);

/* atfork: take the mode's lock; release it in the parent; in the child
 * (the only thread) make its locks and conditions anew. */
static void mode_fork_prepare(void);
static void mode_fork_parent(void);
static void mode_fork_child(void);

/*
 * fork() child, around liburcu's call_rcu_after_fork_child():
 * mode_forget_workers() before it drops the parent's workers and returns
 * mode_may_have_workers() of the parent; mode_after_fork_child() after it
 * notes the new default worker (had: what the first returned).
 */
static int mode_forget_workers(void);
static void mode_after_fork_child(int had);

/* Constructor (one thread): make the mode's conditions and records. */
static void mode_init(void);
/* After init or fork (one thread): put the mode's conditions on fallback's clock. */
static void mode_conds_fallback(const pthread_cond_t *fallback);

/*
 * At exit, after a barrier gave up: the default worker, NULL when there
 * is none to keep; *made is set to 1 when this call just made it.
 */
static struct call_rcu_data *mode_default_worker_at_exit(int *made);

/*
 * At exit: 1 when the mode can prove that every callback queued before
 * the call has run (an exit barrier would not wait), else 0.
 */
static int mode_nothing_queued(void);

/* At exit, after the exit barriers: let the mode's own threads go. */
static void mode_exit(void);

#endif /* URCU_COMPAT_MODE_H */
