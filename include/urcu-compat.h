/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu-compat.h - rcu_barrier(), bounded barriers, a worker stop that is
 * right on every liburcu release, and exit-time barriers, for liburcu
 * 0.7.16 to 0.15 in every flavor.
 *
 * Include it after the liburcu flavor header the application uses
 * (<urcu.h>, RCU_MB or RCU_SIGNAL + <urcu.h>, <urcu-qsbr.h>, <urcu-bp.h>,
 * or from 0.11 on <urcu/urcu-memb.h> and friends). Without a flavor
 * header before it, it includes the one URCU_COMPAT_FLAVOR_{MB,SIGNAL,
 * QSBR,BP} names, or <urcu.h>.
 *
 * Everything is worked out from what liburcu's headers define:
 *   - liburcu 0.8 and newer have rcu_barrier(): liburcu's own barrier
 *     does the work, behind the library's misuse checks; call_rcu()
 *     costs a load or two more (see urcu_compat_call_rcu() below), and
 *     nothing is put in front of the read side.
 *   - liburcu 0.7 has none: rcu_barrier() is provided by the library,
 *     built from one rendezvous callback per call_rcu worker. To know the
 *     workers, the header routes the call_rcu worker calls (create, free,
 *     default, fork) through the library; see doc/design.md for what
 *     is covered.
 * Define URCU_COMPAT_FORCE_EMULATION to 1 before including this header to
 * use the 0.7 emulation on any release (it must match the library built
 * with meson -Dforce_emulation=true, which installs this header with
 * that default).
 */
#ifndef URCU_COMPAT_H
#define URCU_COMPAT_H

#ifndef URCU_COMPAT_FORCE_EMULATION
#define URCU_COMPAT_FORCE_EMULATION 0
#endif

/*
 * The flavor: the liburcu header included before this one, else the one
 * URCU_COMPAT_FLAVOR_{QSBR,BP,SIGNAL,MB} names, else <urcu.h>. The only
 * place where a flavor is chosen: the library (compat/urcu-compat.c), the
 * tests and the examples include this header and define at most one of
 * those names.
 */
#if defined(_URCU_H) || defined(_URCU_QSBR_H) || defined(_URCU_BP_H) || \
	defined(_URCU_MEMB_H) || defined(_URCU_MB_H) || defined(_URCU_SIGNAL_H)
/* The including file chose the flavor. */
#elif defined(URCU_COMPAT_FLAVOR_QSBR)
#include <urcu-qsbr.h>
#elif defined(URCU_COMPAT_FLAVOR_BP)
#include <urcu-bp.h>
#elif defined(URCU_COMPAT_FLAVOR_SIGNAL)
#define RCU_SIGNAL
#include <urcu.h>
#elif defined(URCU_COMPAT_FLAVOR_MB)
#define RCU_MB
#include <urcu.h>
#else
#include <urcu.h>
#endif

#include <pthread.h>

#define URCU_COMPAT_VERSION_MAJOR	0
#define URCU_COMPAT_VERSION_MINOR	1
#define URCU_COMPAT_VERSION_PATCH	0
/* The version as one number, 0xMMmmpp, comparable with URCU_COMPAT_VERSION_NUM(). */
#define URCU_COMPAT_VERSION_NUM(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define URCU_COMPAT_VERSION	URCU_COMPAT_VERSION_NUM(URCU_COMPAT_VERSION_MAJOR, \
						URCU_COMPAT_VERSION_MINOR, \
						URCU_COMPAT_VERSION_PATCH)

/*
 * Which flavor that is: the same test liburcu's own headers make. 0.7 -
 * 0.10 guard <urcu.h> with _URCU_H and select mb or signal with RCU_MB /
 * RCU_SIGNAL (0.7.15 - 0.7.17 turn the memb default into mb that way);
 * 0.11+ guard each flavor header with its own name.
 */
#if defined(_URCU_QSBR_H)
#define URCU_COMPAT_FLAVOR_NAME		"qsbr"
#define URCU_COMPAT_IS_QSBR		1
#define URCU_COMPAT_FLAVOR_TAG		qsbr
#elif defined(_URCU_BP_H)
#define URCU_COMPAT_FLAVOR_NAME		"bp"
#define URCU_COMPAT_FLAVOR_TAG		bp
#elif defined(_URCU_SIGNAL_H) || defined(RCU_SIGNAL)
#define URCU_COMPAT_FLAVOR_NAME		"signal"
#define URCU_COMPAT_FLAVOR_TAG		signal
#elif defined(_URCU_MB_H) || defined(RCU_MB)
#define URCU_COMPAT_FLAVOR_NAME		"mb"
#define URCU_COMPAT_FLAVOR_TAG		mb
#define URCU_COMPAT_FLAVOR_IS_MB	1
#else
#define URCU_COMPAT_FLAVOR_NAME		"memb"
#define URCU_COMPAT_FLAVOR_TAG		memb
#define URCU_COMPAT_FLAVOR_IS_MEMB	1
#endif
#ifndef URCU_COMPAT_IS_QSBR
#define URCU_COMPAT_IS_QSBR		0
#endif

/*
 * The mode, decided here only (the library reads these two):
 * URCU_COMPAT_LIBURCU_HAS_BARRIER: liburcu has rcu_barrier() (0.8+). The
 * mapping headers of 0.8+ define rcu_barrier; the prefixed headers of
 * 0.11+ used without the mapping still pull in <urcu/wfcqueue.h>, which
 * 0.7 does not have.
 * URCU_COMPAT_NATIVE_BARRIER: liburcu's barrier is used (native mode),
 * unless the emulation is forced.
 */
#if defined(rcu_barrier) || defined(_URCU_WFCQUEUE_H)
#define URCU_COMPAT_LIBURCU_HAS_BARRIER	1
#else
#define URCU_COMPAT_LIBURCU_HAS_BARRIER	0
#endif
#if URCU_COMPAT_LIBURCU_HAS_BARRIER && !URCU_COMPAT_FORCE_EMULATION
#define URCU_COMPAT_NATIVE_BARRIER	1
#else
#define URCU_COMPAT_NATIVE_BARRIER	0
#endif

/*
 * Exported names carry the mode and the flavor, so that an application
 * linked with another flavor's (or mode's) library fails at link time:
 * URCU_COMPAT_SYM(NAME) is urcu_compat_FLAVOR_NAME in native mode and
 * urcu_compat_emul_FLAVOR_NAME in the emulation. The map below gives
 * each name the code uses its exported name, one line each. In full,
 * for the qsbr flavor in emulation mode:
 *     urcu_compat_barrier
 *     -> URCU_COMPAT_SYM(barrier)
 *     -> URCU_COMPAT_CAT(URCU_COMPAT_PREFIX, _barrier)
 *     -> urcu_compat_emul_qsbr_barrier
 * A name from a link error is found by its NAME: grep "SYM(NAME)".
 *
 * wrap_X is the library's stand-in for liburcu's X, to which the header
 * maps X (end of this file): the prefix tells it apart from the
 * library's own API, e.g. wrap_call_rcu_data_free (liburcu's
 * call_rcu_data_free(), behind the library's gate) from
 * urcu_compat_call_rcu_data_free (which also joins the worker).
 */
#define URCU_COMPAT_CAT_(a, b)		a##b
#define URCU_COMPAT_CAT(a, b)		URCU_COMPAT_CAT_(a, b)
#if URCU_COMPAT_NATIVE_BARRIER
#define URCU_COMPAT_PREFIX	URCU_COMPAT_CAT(urcu_compat_, URCU_COMPAT_FLAVOR_TAG)
#else
#define URCU_COMPAT_PREFIX	URCU_COMPAT_CAT(urcu_compat_emul_, URCU_COMPAT_FLAVOR_TAG)
#endif
/* n is pasted before it can expand: liburcu's names may be macros. */
#define URCU_COMPAT_SYM(n)		URCU_COMPAT_CAT(URCU_COMPAT_PREFIX, _##n)

/* The API (doc/api.md). */
#define urcu_compat_barrier		URCU_COMPAT_SYM(barrier)
#define urcu_compat_barrier_timeout	URCU_COMPAT_SYM(barrier_timeout)
#define urcu_compat_native_barrier	URCU_COMPAT_SYM(native_barrier)
#define urcu_compat_call_rcu_data_free	URCU_COMPAT_SYM(call_rcu_data_free)
#define urcu_compat_set_exit_barriers	URCU_COMPAT_SYM(set_exit_barriers)
#define urcu_compat_barrier_stalls	URCU_COMPAT_SYM(barrier_stalls)
#define urcu_compat_set_library_worker	URCU_COMPAT_SYM(set_library_worker)
#define urcu_compat_version		URCU_COMPAT_SYM(version)
/* The library's rcu_barrier() and its stand-ins for liburcu's calls. */
#define urcu_compat_rcu_barrier		URCU_COMPAT_SYM(rcu_barrier)
#define urcu_compat_wrap_call_rcu_before_fork		URCU_COMPAT_SYM(wrap_call_rcu_before_fork)
#define urcu_compat_wrap_call_rcu_after_fork_parent	URCU_COMPAT_SYM(wrap_call_rcu_after_fork_parent)
#define urcu_compat_wrap_call_rcu_after_fork_child	URCU_COMPAT_SYM(wrap_call_rcu_after_fork_child)
#define urcu_compat_wrap_get_default_call_rcu_data	URCU_COMPAT_SYM(wrap_get_default_call_rcu_data)
#define urcu_compat_wrap_get_call_rcu_data		URCU_COMPAT_SYM(wrap_get_call_rcu_data)
#define urcu_compat_wrap_call_rcu_data_free		URCU_COMPAT_SYM(wrap_call_rcu_data_free)
#define urcu_compat_wrap_free_all_cpu_call_rcu_data	URCU_COMPAT_SYM(wrap_free_all_cpu_call_rcu_data)
#define urcu_compat_wrap_create_call_rcu_data		URCU_COMPAT_SYM(wrap_create_call_rcu_data)
/* The call_rcu() route: see urcu_compat_call_rcu() below. */
#define urcu_compat_call_rcu_fast	URCU_COMPAT_SYM(route)
#define urcu_compat_thread_has_worker	URCU_COMPAT_SYM(thread_worker)
#define urcu_compat_call_rcu_route	URCU_COMPAT_SYM(call_rcu_route)
#define urcu_compat_wrap_set_thread_call_rcu_data	URCU_COMPAT_SYM(wrap_set_thread_call_rcu_data)
#define urcu_compat_wrap_set_cpu_call_rcu_data		URCU_COMPAT_SYM(wrap_set_cpu_call_rcu_data)
#if !URCU_COMPAT_NATIVE_BARRIER
/* The emulation's queue mark: see urcu_compat_call_rcu() below. */
#define urcu_compat_queued		URCU_COMPAT_SYM(queued)
#else
/* Native mode's: the per-CPU workers it knows of (stall reports). */
#define urcu_compat_wrap_create_all_cpu_call_rcu_data	URCU_COMPAT_SYM(wrap_create_all_cpu_call_rcu_data)
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct call_rcu_data;
struct rcu_head;

/*
 * urcu_compat_barrier - wait until every callback queued before the call
 * has run.
 *
 * Returns 0 once they have run; -EDEADLK at once, without waiting, when
 * called inside a read-side critical section or from a call_rcu worker
 * (inside a callback); -ESRCH at once in a child of fork() whose workers
 * were not brought back by call_rcu_after_fork_child(); -ENOMEM when the
 * emulation could not track a worker it found. A QSBR caller that is
 * online is put offline while it waits and back online after.
 */
int urcu_compat_barrier(void);

/*
 * urcu_compat_barrier_timeout - urcu_compat_barrier() that gives up after
 * timeout_ms milliseconds with -ETIMEDOUT. A barrier that gave up stays
 * harmless: its rendezvous callbacks run later without harm, and later
 * barriers work.
 */
int urcu_compat_barrier_timeout(unsigned int timeout_ms);

/*
 * urcu_compat_native_barrier - 1 when liburcu's own rcu_barrier() is in
 * use, 0 for the emulation. Always equal to URCU_COMPAT_NATIVE_BARRIER.
 */
int urcu_compat_native_barrier(void);

/*
 * urcu_compat_call_rcu_data_free - stop a worker, wait until its thread
 * has exited, release everything, on every release: joins the thread
 * where liburcu does not, and never joins it again where liburcu does.
 * NULL and the default worker are ignored, as by call_rcu_data_free(),
 * and so is the library's own worker (see call_rcu() below), which a
 * callback running on it sees as its thread's.
 * The caller must have detached the worker from threads and CPUs and
 * waited for a grace period, as for call_rcu_data_free().
 */
void urcu_compat_call_rcu_data_free(struct call_rcu_data *crdp);

/*
 * urcu_compat_set_exit_barriers - at process exit run count barriers,
 * each bounded by timeout_ms (default 1 barrier, 1000 ms; count 0 turns
 * it off). Skipped at once from inside a callback or read-side critical
 * section and in a fork() child without call_rcu_after_fork_child().
 */
void urcu_compat_set_exit_barriers(unsigned int count, unsigned int timeout_ms);

/*
 * What a barrier that gave up still waits for: one call_rcu worker
 * (urcu_compat_barrier_stalls()).
 */
struct urcu_compat_stall {
	int kind;		/* URCU_COMPAT_WORKER_* */
	int cpu;		/* the CPU of a per-CPU worker, else -1 */
	pthread_t thread;	/* the worker's thread, as get_call_rcu_thread() */
	long tid;		/* its kernel thread id, 0 when not known */
	unsigned int waited_ms;	/* how long the barriers have waited for it */
};

#define URCU_COMPAT_WORKER_DEFAULT	1	/* liburcu's default worker */
#define URCU_COMPAT_WORKER_CPU		2	/* the per-CPU worker of cpu */
#define URCU_COMPAT_WORKER_THREAD	3	/* any other: created, a thread's own */

/*
 * urcu_compat_barrier_stalls - the call_rcu workers that the most recent
 * barrier that gave up (urcu_compat_barrier_timeout() or an exit barrier
 * returning -ETIMEDOUT) still waits for, as they are at the call: a
 * worker that has run that barrier's rendezvous since is not listed.
 * Fills at most max entries of out, each worker once; out may be NULL
 * when max is 0. waited_ms counts from when that barrier began, or from
 * when an older barrier still waiting for the worker began. tid is
 * known once a rendezvous of the library ran on the worker. Only
 * workers the library knows of are listed; native mode knows fewer
 * (doc/api.md). Returns the number of such workers (may exceed max; 0
 * once nothing is outstanding, or when no barrier gave up), -EINVAL for
 * a negative max or a NULL out with max > 0, -ESRCH in a fork() child
 * without call_rcu_after_fork_child(). Any thread, not a signal handler;
 * does not wait.
 */
int urcu_compat_barrier_stalls(struct urcu_compat_stall *out, int max);

/*
 * urcu_compat_set_library_worker - on (1): call_rcu() through this header,
 * from a thread without a worker of its own on a CPU without a per-CPU
 * worker, goes to a worker the library owns instead of liburcu's default
 * worker; at exit, after the exit barriers, the library stops it and joins
 * its thread exactly once, on every release (liburcu 0.7 - 0.13.2 never
 * stop their default worker: a leak checker reports its thread). Those
 * calls then cost more (see doc/api.md). Off (0, the default): liburcu's
 * default worker. Call it at start-up, before the first call_rcu().
 * While the exit barriers are off, calls go to liburcu's default worker.
 */
void urcu_compat_set_library_worker(int on);

/*
 * urcu_compat_version - the version of the library in use at run time,
 * as URCU_COMPAT_VERSION: compare it with the header's URCU_COMPAT_VERSION.
 */
int urcu_compat_version(void);

/* rcu_barrier(), and the stand-ins for the liburcu calls the library watches. */
void urcu_compat_rcu_barrier(void);
void urcu_compat_wrap_call_rcu_before_fork(void);
void urcu_compat_wrap_call_rcu_after_fork_parent(void);
void urcu_compat_wrap_call_rcu_after_fork_child(void);
struct call_rcu_data *urcu_compat_wrap_get_default_call_rcu_data(void);
struct call_rcu_data *urcu_compat_wrap_get_call_rcu_data(void);
void urcu_compat_wrap_call_rcu_data_free(struct call_rcu_data *crdp);
void urcu_compat_wrap_free_all_cpu_call_rcu_data(void);
struct call_rcu_data *urcu_compat_wrap_create_call_rcu_data(unsigned long flags,
							   int cpu_affinity);

/*
 * The call_rcu() route (see urcu_compat_call_rcu() below).
 * urcu_compat_call_rcu_fast: URCU_COMPAT_FAST_* bits;
 * urcu_compat_thread_has_worker: this thread has a worker of its own;
 * urcu_compat_call_rcu_route(): call_rcu() for the other callers, which
 * sends what would reach liburcu's default worker to the library's.
 * Their exported names keep older words (see the map above).
 */
#define URCU_COMPAT_FAST_DEFAULT	1	/* to liburcu's default worker, known */
#define URCU_COMPAT_FAST_CPU_WORKERS	2	/* every CPU has its worker */
extern int urcu_compat_call_rcu_fast;
extern __thread int urcu_compat_thread_has_worker;
void urcu_compat_call_rcu_route(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_compat_wrap_set_thread_call_rcu_data(struct call_rcu_data *crdp);
int urcu_compat_wrap_set_cpu_call_rcu_data(int cpu, struct call_rcu_data *crdp);
#if !URCU_COMPAT_NATIVE_BARRIER
/*
 * The queue mark (compat/emulation-impl.h): set after each call_rcu(),
 * so that a stop or an exit can prove a queue empty.
 */
extern int urcu_compat_queued;
#else
int urcu_compat_wrap_create_all_cpu_call_rcu_data(unsigned long flags);
#endif

#ifdef __cplusplus
}
#endif

#ifndef URCU_COMPAT_BUILDING_LIBRARY

/*
 * Every file that includes this header refers to the library, so that a
 * program that calls nothing from it still gets it, with its exit
 * barriers, whatever the linker does with unused libraries (--as-needed,
 * -static, --gc-sections). No code: one pointer per file, set at link or
 * load time.
 */
static int (*const urcu_compat_link_anchor)(void)
	__attribute__((used, unused)) = urcu_compat_version;

#ifdef call_rcu
/*
 * call_rcu() as the application sees it (liburcu's unprefixed name; code
 * that calls the flavor's prefixed one, e.g. urcu_memb_call_rcu(), calls
 * liburcu directly). A thread with a worker of its
 * own, any thread once every CPU has its worker, or once calls go to
 * liburcu's default worker without the library's: liburcu's call_rcu(),
 * after a load or two. Any other call goes through the library, which
 * sends what liburcu would give to its default worker to the library's
 * own worker (urcu_compat_set_library_worker()).
 */
static inline void urcu_compat_call_rcu(struct rcu_head *head,
					void (*func)(struct rcu_head *head))
{
	if (caa_likely(CMM_LOAD_SHARED(urcu_compat_call_rcu_fast) ||
		       urcu_compat_thread_has_worker))
		call_rcu(head, func);
	else
		urcu_compat_call_rcu_route(head, func);
#if !URCU_COMPAT_NATIVE_BARRIER
	/* After the enqueue, an atomic exchange: read the mark after it. */
	cmm_smp_mb__after_uatomic_add();
	if (!CMM_LOAD_SHARED(urcu_compat_queued))
		CMM_STORE_SHARED(urcu_compat_queued, 1);
#endif
}

#undef call_rcu
#define call_rcu			urcu_compat_call_rcu
#endif
#undef set_thread_call_rcu_data
#define set_thread_call_rcu_data	urcu_compat_wrap_set_thread_call_rcu_data
#undef set_cpu_call_rcu_data
#define set_cpu_call_rcu_data		urcu_compat_wrap_set_cpu_call_rcu_data
#if URCU_COMPAT_NATIVE_BARRIER
/* Native mode: the per-CPU workers created here are known (stall reports). */
#undef create_all_cpu_call_rcu_data
#define create_all_cpu_call_rcu_data	urcu_compat_wrap_create_all_cpu_call_rcu_data
#endif

/*
 * rcu_barrier(): the library's checks (read side, callback, fork child:
 * refused at once with a one-time message), then liburcu's own barrier
 * from 0.8 on, the emulation on 0.7.
 */
#undef rcu_barrier
#define rcu_barrier			urcu_compat_rcu_barrier

/*
 * In every mode the library sees the fork hooks, to know whether a
 * fork() child got its workers back, and who hands out the default
 * worker, which urcu_compat_call_rcu_data_free() must leave alone.
 */
#undef get_default_call_rcu_data
#define get_default_call_rcu_data	urcu_compat_wrap_get_default_call_rcu_data
#undef get_call_rcu_data
#define get_call_rcu_data		urcu_compat_wrap_get_call_rcu_data
#undef call_rcu_before_fork
#define call_rcu_before_fork		urcu_compat_wrap_call_rcu_before_fork
#undef call_rcu_after_fork_parent
#define call_rcu_after_fork_parent	urcu_compat_wrap_call_rcu_after_fork_parent
#undef call_rcu_after_fork_child
#define call_rcu_after_fork_child	urcu_compat_wrap_call_rcu_after_fork_child
/*
 * Frees pass the library's gate with the fork hooks: liburcu's
 * call_rcu_before_fork() would otherwise wait forever for a worker that
 * a free has stopped, while that free waits for liburcu's mutex.
 */
#undef call_rcu_data_free
#define call_rcu_data_free		urcu_compat_wrap_call_rcu_data_free
#undef free_all_cpu_call_rcu_data
#define free_all_cpu_call_rcu_data	urcu_compat_wrap_free_all_cpu_call_rcu_data
/*
 * Workers created here are known to the library in both modes: the
 * emulation waits for them, the stall report names them, and each gets
 * its exit watch planted at once, so that its stop costs no worker cycle
 * of its own.
 */
#undef create_call_rcu_data
#define create_call_rcu_data		urcu_compat_wrap_create_call_rcu_data

#endif /* URCU_COMPAT_BUILDING_LIBRARY */

#endif /* URCU_COMPAT_H */
