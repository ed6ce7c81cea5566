/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu-compat.c - the whole implementation, compiled once per flavor.
 *
 * The flavor is the liburcu header included before this file, or the one
 * named by URCU_COMPAT_FLAVOR_{MB,SIGNAL,QSBR,BP} (default: <urcu.h>).
 *
 * Design, in the order of this file:
 *  1. Checks shared by every barrier: read-side critical section and
 *     call_rcu worker (-EDEADLK), fork() child without its workers
 *     (-ESRCH), QSBR offline while waiting. A gate between worker frees
 *     and fork hooks, which deadlock each other inside liburcu.
 *  2. Emulation (liburcu 0.7, or forced): every known worker has a record
 *     with SLOTS preallocated rendezvous rcu_heads. A barrier is a
 *     generation number, a slot, and a count of rendezvous still to run;
 *     up to SLOTS run at once, so a caller starts its own at once and its
 *     rendezvous may join the worker's next batch with those in flight.
 *     Callers that took their number before another one started share
 *     that one, and so do those that find every slot taken. Freed workers
 *     are drained by a marker that follows their callbacks wherever
 *     liburcu moves them. Only the 0.7 call_rcu API is used here.
 *  3. Native (0.8+): liburcu's own rcu_barrier(); a bounded barrier runs
 *     it in one helper thread shared by all callers.
 *  4. Worker stop with exactly one join, whatever the release does.
 *  5. Fork hooks, exit barriers, constructor and destructor.
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE

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

#define URCU_COMPAT_BUILDING_LIBRARY
#include "urcu-compat.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <urcu/list.h>

#define API __attribute__((visibility("default")))

/* liburcu 0.8+ headers: rcu_barrier() exists and call_rcu_data_free() may join. */
#if defined(rcu_barrier) || defined(_URCU_WFCQUEUE_H)
#define RELEASE_08_OR_LATER 1
#else
#define RELEASE_08_OR_LATER 0
#endif

/* Wait bound of the one-time probe of whether call_rcu_data_free() joins. */
#define JOIN_PROBE_MS		250
/* How long a worker stop waits for the worker to leave before it warns. */
#define STOP_WAIT_MS		5000

static pthread_condattr_t monotonic_attr;
static long ncpus;	/* what liburcu sizes its per-CPU array with */

/*
 * The conditions' clock: CLOCK_REALTIME once one of them could not be
 * made on CLOCK_MONOTONIC (see settle_conds()).
 */
static clockid_t wait_clock = CLOCK_MONOTONIC;
static int cond_failed;

/*
 * Out of resources, a condition or a mutex gets its static initializer,
 * which needs none. Such a condition waits on CLOCK_REALTIME, and
 * settle_conds() then puts all of them on that clock.
 */
static void init_cond(pthread_cond_t *cond)
{
	static const pthread_cond_t fallback = PTHREAD_COND_INITIALIZER;

	if (pthread_cond_init(cond, wait_clock == CLOCK_MONOTONIC ? &monotonic_attr : NULL)) {
		*cond = fallback;
		cond_failed = 1;
	}
}

static void init_mutex(pthread_mutex_t *mutex)
{
	static const pthread_mutex_t fallback = PTHREAD_MUTEX_INITIALIZER;

	if (pthread_mutex_init(mutex, NULL))
		*mutex = fallback;
}

/* Largest time_t: a deadline past it is clamped, never wrapped. */
#define TIME_T_MAX	((time_t)((((time_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1))

static void deadline_in(struct timespec *ts, unsigned int ms)
{
	if (clock_gettime(wait_clock, ts)) {
		ts->tv_sec = 0;	/* cannot happen on Linux; gives up early */
		ts->tv_nsec = 0;
	}
	if (ts->tv_sec > TIME_T_MAX - (time_t)(ms / 1000) - 1) {
		ts->tv_sec = TIME_T_MAX;
		ts->tv_nsec = 999999999L;
		return;
	}
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait on cond; return ETIMEDOUT once deadline (if any) has passed. */
static int wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex,
		      const struct timespec *deadline)
{
	if (!deadline) {
		pthread_cond_wait(cond, mutex);
		return 0;
	}
	return pthread_cond_timedwait(cond, mutex, deadline);
}

static int seq_before(unsigned long a, unsigned long b)
{
	return (long)(a - b) < 0;
}

/* Queue head on that worker: the 0.7 way, through the thread's worker. */
static void enqueue_on(struct call_rcu_data *crdp, struct rcu_head *head,
		       void (*func)(struct rcu_head *head))
{
	struct call_rcu_data *saved = get_thread_call_rcu_data();

	set_thread_call_rcu_data(crdp);
	call_rcu(head, func);
	set_thread_call_rcu_data(saved);
}

static void warn_once(int *warned, const char *msg)
{
	if (!uatomic_xchg(warned, 1))
		fprintf(stderr, "[error] urcu-compat: %s\n", msg);
}

/* ---------------------------------------------------------------- */
/* 1. Checks shared by every barrier                                  */
/* ---------------------------------------------------------------- */

/* Read side active; for QSBR, "online". */
static int reader_active(void)
{
#if defined(rcu_read_ongoing)
	return rcu_read_ongoing();
#elif URCU_COMPAT_IS_QSBR
	return URCU_TLS(rcu_reader).ctr != 0;
#elif defined(_URCU_BP_H)
	return URCU_TLS(rcu_reader) &&
		(URCU_TLS(rcu_reader)->ctr & RCU_GP_CTR_NEST_MASK);
#else
	return (URCU_TLS(rcu_reader).ctr & RCU_GP_CTR_NEST_MASK) != 0;
#endif
}

/* The worker sets its own thread's call_rcu data to itself. */
static int in_call_rcu_worker(void)
{
	struct call_rcu_data *crdp = get_thread_call_rcu_data();

	return crdp && pthread_equal(get_call_rcu_thread(crdp), pthread_self());
}

/*
 * In a fork() child, the threads of the workers the parent had are gone
 * until call_rcu_after_fork_child() brings them back.
 */
static int workers_lost_in_child, workers_at_fork;
static int have_workers(void);

/*
 * Workers liburcu has that the library may have no record of: per-CPU
 * ones (create_all_cpu_call_rcu_data() does not pass through the header,
 * and a record is made only when a barrier runs) and the calling
 * thread's own. In a fork() child, the only thread: the pointers are only
 * compared with NULL, so no RCU read lock (bp would register the thread).
 */
static int liburcu_has_workers(void)
{
	long cpu;

	if (get_thread_call_rcu_data())
		return 1;
	for (cpu = 0; cpu < ncpus; cpu++)
		if (get_cpu_call_rcu_data((int)cpu))
			return 1;
	return 0;
}

/* The default worker, once liburcu handed it out through the header. */
static struct call_rcu_data *default_crdp;

static int is_default(struct call_rcu_data *crdp)
{
	return crdp == CMM_LOAD_SHARED(default_crdp);
}

/* Is crdp a per-CPU worker? Under the RCU read lock. */
static int is_cpu_worker(struct call_rcu_data *crdp)
{
	long cpu;

	for (cpu = 0; cpu < ncpus; cpu++)
		if (get_cpu_call_rcu_data((int)cpu) == crdp)
			return 1;
	return 0;
}

static int barrier_misuse(void)
{
	if (in_call_rcu_worker())
		return -EDEADLK;
	if (!URCU_COMPAT_IS_QSBR && reader_active())
		return -EDEADLK;
	if (CMM_LOAD_SHARED(workers_lost_in_child))
		return -ESRCH;
	return 0;
}

/* QSBR: an online caller goes offline while it waits. */
static int go_offline(void)
{
	if (URCU_COMPAT_IS_QSBR && reader_active()) {
		rcu_thread_offline();
		return 1;
	}
	return 0;
}

static void come_back(int was_online)
{
	if (was_online)
		rcu_thread_online();
}

/*
 * liburcu's call_rcu_before_fork() holds its mutex while it waits for
 * every worker on its list to pause. A worker that call_rcu_data_free()
 * has stopped but not yet taken off that list never pauses, and the free
 * waits for that mutex: both hang. Every free and fork hook of the
 * library passes this gate, so a fork waits for the frees in progress and
 * new frees wait for the fork. Only flags are kept under gate_lock.
 */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_frees, gate_forking;

static void gate_enter(int fork)
{
	pthread_mutex_lock(&gate_lock);
	while (gate_forking)
		pthread_cond_wait(&gate_cond, &gate_lock);
	if (fork) {
		gate_forking = 1;
		while (gate_frees)
			pthread_cond_wait(&gate_cond, &gate_lock);
	} else {
		gate_frees++;
	}
	pthread_mutex_unlock(&gate_lock);
}

static void gate_leave(int fork)
{
	pthread_mutex_lock(&gate_lock);
	if (fork)
		gate_forking = 0;
	else
		gate_frees--;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* fork() child: the only thread; no free is in progress. */
static void gate_reset(void)
{
	static const pthread_cond_t fallback = PTHREAD_COND_INITIALIZER;

	init_mutex(&gate_lock);
	gate_cond = fallback;
	gate_frees = 0;
	gate_forking = 0;
}

/*
 * Worker stops in progress (urcu_compat_call_rcu_data_free(), and
 * call_rcu_data_free() through the header), so that a second stop of the
 * same worker meanwhile is refused instead of freeing it twice. One made
 * after the first returned cannot be told from the stop of a new worker
 * at the same address: that stays the caller's to avoid.
 */
struct stop {
	struct call_rcu_data *crdp;
	struct stop *next;
};
static pthread_mutex_t stops_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stop *stops;
static int warned_stop_twice;

/* Record the stop of crdp in s; 0 (and a one-time message) when one is in progress. */
static int stop_begin(struct stop *s, struct call_rcu_data *crdp)
{
	struct stop *o;

	pthread_mutex_lock(&stops_lock);
	for (o = stops; o; o = o->next)
		if (o->crdp == crdp)
			break;
	if (!o) {
		s->crdp = crdp;
		s->next = stops;
		stops = s;
	}
	pthread_mutex_unlock(&stops_lock);
	if (o)
		warn_once(&warned_stop_twice, "call_rcu worker freed while a free of it is in progress; ignored.");
	return !o;
}

static void stop_end(struct stop *s)
{
	struct stop **p;

	pthread_mutex_lock(&stops_lock);
	for (p = &stops; *p != s; p = &(*p)->next)
		;
	*p = s->next;
	pthread_mutex_unlock(&stops_lock);
}

/* fork() child: the only thread; no stop is in progress. */
static void stops_reset(void)
{
	init_mutex(&stops_lock);
	stops = NULL;
}

static void gated_call_rcu_data_free(struct call_rcu_data *crdp)
{
	gate_enter(0);
	call_rcu_data_free(crdp);
	gate_leave(0);
}

static void gated_free_all_cpu_call_rcu_data(void)
{
	gate_enter(0);
	free_all_cpu_call_rcu_data();
	gate_leave(0);
}

/* ---------------------------------------------------------------- */
/* 2. Emulation                                                       */
/* ---------------------------------------------------------------- */
#if !URCU_COMPAT_NATIVE_BARRIER

/*
 * Barriers in flight at once (each worker record holds one rendezvous
 * per slot); callers beyond that share the next one. A caller that finds
 * no free slot waits a whole worker cycle, so there are as many slots as
 * bits in the masks below.
 */
#define SLOTS 32

struct worker;

struct rendezvous {
	struct rcu_head head;
	struct worker *w;
	unsigned int slot;
};

struct worker {
	struct cds_list_head node;
	struct call_rcu_data *crdp;	/* NULL once liburcu has freed it */
	struct rendezvous rv[SLOTS];	/* one per barrier in flight */
	struct rcu_head drain_head;	/* follows the callbacks of a freed worker */
	void *freeing;			/* set by the free in progress */
	unsigned char owned;		/* created through the header */
	unsigned char seen;		/* per-CPU worker in the current scan */
	unsigned int rv_pending;	/* bit per slot: rendezvous queued */
	unsigned char drain_pending;
	unsigned char dying;		/* being freed: no more rendezvous */
	unsigned char spare;		/* spare_worker, lent to a free out of memory */
	unsigned int drain_waited;	/* bit per slot: that barrier counts the drain */
};

static pthread_mutex_t emul_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t emul_done;	/* a drain ran */
/*
 * Generation g completed: gen_done[g % SLOTS]. One condition per slot, so
 * that a completion wakes its own callers only: a crowd of woken callers
 * on a busy machine delays the workers' grace periods.
 */
static pthread_cond_t gen_done[SLOTS];
static CDS_LIST_HEAD(workers);
/*
 * Barrier generations: started - completed are in flight, generation g
 * in slot g % SLOTS with outstanding[] rendezvous (+1 while starting).
 */
static unsigned long started, completed;
static unsigned long outstanding[SLOTS];
static unsigned char slot_done[SLOTS];
static struct worker default_worker;	/* static: never freed */
static struct worker spare_worker;	/* lent to a free out of memory */
API int URCU_COMPAT_SYM(route);
API __thread int URCU_COMPAT_SYM(thread_worker);

static int have_workers(void)
{
	return !cds_list_empty(&workers) || default_crdp;
}

static struct worker *find_worker(struct call_rcu_data *crdp)
{
	struct worker *w;

	cds_list_for_each_entry(w, &workers, node)
		if (w->crdp == crdp && !w->dying)
			return w;
	return NULL;
}

static void init_emul_conds(void)
{
	unsigned int i;

	init_cond(&emul_done);
	for (i = 0; i < SLOTS; i++)
		init_cond(&gen_done[i]);
}

static void emul_conds_fallback(const pthread_cond_t *fallback)
{
	unsigned int i;

	emul_done = *fallback;
	for (i = 0; i < SLOTS; i++)
		gen_done[i] = *fallback;
}

static void init_worker(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < SLOTS; i++) {
		w->rv[i].w = w;
		w->rv[i].slot = i;
	}
}

static struct worker *new_worker(struct call_rcu_data *crdp, int owned)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	init_worker(w);
	w->crdp = crdp;
	w->owned = owned;
	cds_list_add_tail(&w->node, &workers);
	return w;
}

/* Free a record nobody can reach any more. Under emul_lock. */
static void release_worker(struct worker *w)
{
	if (w == &default_worker || !w->dying || w->crdp ||
	    w->rv_pending || w->drain_pending)
		return;
	cds_list_del(&w->node);
	if (w->spare)
		w->spare = 0;	/* back to the next free that needs it */
	else
		free(w);
}

/* Every rendezvous of the barrier in slot ran. Under emul_lock. */
static void complete_slot(unsigned int slot)
{
	slot_done[slot] = 1;
	while (completed != started && slot_done[(completed + 1) % SLOTS]) {
		slot_done[(completed + 1) % SLOTS] = 0;
		completed++;
		pthread_cond_broadcast(&gen_done[completed % SLOTS]);
	}
}

/* One rendezvous of the barrier in slot done. Under emul_lock. */
static void finish_one(unsigned int slot)
{
	if (!uatomic_add_return(&outstanding[slot], -1))
		complete_slot(slot);
}

/*
 * Most rendezvous take no lock: only the last one of a barrier does, and
 * one on a dying record, which it may have to release. A record that is
 * not dying may be freed by start_barrier() as soon as its bit in
 * rv_pending is clear, so that is the last use of it here. One that
 * becomes dying meanwhile has its drain marker queued behind this
 * rendezvous, which releases it (fork() children mark theirs dying
 * before any worker runs).
 */
static void barrier_cb(struct rcu_head *head)
{
	struct rendezvous *rv = caa_container_of(head, struct rendezvous, head);
	struct worker *w = rv->w;
	unsigned int slot = rv->slot;

	if (CMM_LOAD_SHARED(w->dying)) {
		pthread_mutex_lock(&emul_lock);
		uatomic_and(&w->rv_pending, ~(1U << slot));
		finish_one(slot);
		release_worker(w);
		pthread_mutex_unlock(&emul_lock);
		return;
	}
	cmm_smp_mb();	/* the reads of w above come first */
	uatomic_and(&w->rv_pending, ~(1U << slot));
	if (!uatomic_add_return(&outstanding[slot], -1)) {
		pthread_mutex_lock(&emul_lock);
		complete_slot(slot);
		pthread_mutex_unlock(&emul_lock);
	}
}

/* Barriers that wait for this drain are done with it. Under emul_lock. */
static void finish_drain_waits(struct worker *w)
{
	unsigned int slot;

	for (slot = 0; slot < SLOTS; slot++)
		if (w->drain_waited & (1U << slot))
			finish_one(slot);
	w->drain_waited = 0;
}

static void drain_cb(struct rcu_head *head)
{
	struct worker *w = caa_container_of(head, struct worker, drain_head);

	pthread_mutex_lock(&emul_lock);
	w->drain_pending = 0;
	finish_drain_waits(w);
	release_worker(w);
	pthread_cond_broadcast(&emul_done);	/* the free waits for it */
	pthread_mutex_unlock(&emul_lock);
}

/*
 * Give every current per-CPU worker a record (the only allocation a
 * barrier can make, once per new worker). Under emul_lock and the RCU
 * read lock that keeps the per-CPU workers alive.
 */
static int scan_cpu_workers(void)
{
	struct call_rcu_data *crdp;
	struct worker *w;
	long cpu;

	for (cpu = 0; cpu < ncpus; cpu++) {
		crdp = get_cpu_call_rcu_data((int)cpu);
		if (!crdp || crdp == default_crdp)
			continue;
		w = find_worker(crdp);
		if (!w)
			w = new_worker(crdp, 0);
		if (!w)
			return -ENOMEM;
		w->seen = 1;
	}
	return 0;
}

static void enqueue_rendezvous(struct worker *w, unsigned int slot)
{
	uatomic_or(&w->rv_pending, 1U << slot);
	uatomic_inc(&outstanding[slot]);
	enqueue_on(w->crdp, &w->rv[slot].head, barrier_cb);
}

/* Start the next barrier: one rendezvous per worker. Under emul_lock. */
static int start_barrier(void)
{
	struct worker *w, *tmp;
	unsigned int slot;
	int ret;

	rcu_read_lock();
	ret = scan_cpu_workers();
	if (ret)
		goto out;
	CMM_STORE_SHARED(started, started + 1);	/* read unlocked by do_barrier() */
	slot = started % SLOTS;
	uatomic_set(&outstanding[slot], 1);
	cds_list_for_each_entry(w, &workers, node) {
		if (w->dying) {
			if (w->drain_pending) {
				w->drain_waited |= 1U << slot;
				uatomic_inc(&outstanding[slot]);
			}
		} else if (w->owned || w->seen) {
			enqueue_rendezvous(w, slot);
		}
	}
	if (default_crdp)	/* note_default() set default_worker.crdp */
		enqueue_rendezvous(&default_worker, slot);
out:
	rcu_read_unlock();
	/* Forget per-CPU workers that are gone. */
	cds_list_for_each_entry_safe(w, tmp, &workers, node) {
		if (!w->owned && !w->seen && !w->dying &&
		    !CMM_LOAD_SHARED(w->rv_pending)) {
			cds_list_del(&w->node);
			free(w);
		} else {
			w->seen = 0;
		}
	}
	if (!ret)
		finish_one(slot);
	return ret;
}

/*
 * Wait for a barrier that started after this call: its number is taken
 * before the lock, so callers that wait for the lock while another one
 * starts a barrier share that one. A caller that finds none starts one at
 * once while fewer than SLOTS are in flight (its rendezvous may join the
 * batch of the one in flight); otherwise it waits and shares the next one
 * with every caller that arrived before it started.
 */
static int do_barrier(const struct timespec *deadline)
{
	unsigned long need;
	int ret = 0, was_online, rc;

	/*
	 * The callbacks this thread queued come before the number: a barrier
	 * with a greater one queues its rendezvous behind them.
	 */
	cmm_smp_mb();
	need = CMM_LOAD_SHARED(started) + 1;
	pthread_mutex_lock(&emul_lock);
	while (seq_before(completed, need)) {
		if (seq_before(started, need) && started - completed < SLOTS) {
			ret = start_barrier();
			if (ret)
				break;
			continue;
		}
		/*
		 * gen_done[need % SLOTS] also serves a caller waiting for a
		 * free slot: that slot's barrier is the oldest in flight.
		 */
		was_online = go_offline();
		rc = wait_until(&gen_done[need % SLOTS], &emul_lock, deadline);
		come_back(was_online);
		if (rc == ETIMEDOUT && seq_before(completed, need)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&emul_lock);
	return ret;
}

/* Record the default worker, which exists once liburcu handed it out. */
static void note_default(struct call_rcu_data *crdp)
{
	if (!crdp)
		return;
	pthread_mutex_lock(&emul_lock);
	default_crdp = crdp;
	default_worker.crdp = crdp;
	pthread_mutex_unlock(&emul_lock);
	uatomic_or(&URCU_COMPAT_SYM(route), URCU_COMPAT_ROUTE_DEFAULT);
}

/* Has every CPU its worker? Under the RCU read lock. */
static int every_cpu_has_worker(void)
{
	long cpu;

	for (cpu = 0; cpu < ncpus; cpu++)
		if (!get_cpu_call_rcu_data((int)cpu))
			return 0;
	return ncpus > 0;
}

/*
 * The call_rcu() route (see the header). URCU_COMPAT_ROUTE_CPUS may be
 * set only while every CPU has its worker. A detach of per-CPU workers
 * through the header counts itself in cpu_detaches and clears the bit,
 * under route_lock, before it detaches anything, and stops counting only
 * once liburcu has detached them; note_call_rcu() sets the bit under
 * route_lock, when no detach is counted and every CPU still has its
 * worker. So no interleaving leaves the bit set once a CPU lost its
 * worker through the header.
 *
 * route_asked: some call_rcu() asked the library where it goes, so the
 * per-CPU route may be in use. A detach makes that CPU's calls go to the
 * default worker, including calls in flight that looked the worker up a
 * moment before: the default worker is noted then (see
 * cpu_detach_begin() and cpu_detach_end()).
 */
static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static int cpu_detaches, route_asked;

static void set_route_cpus(void)
{
	pthread_mutex_lock(&route_lock);
	rcu_read_lock();
	if (!cpu_detaches && every_cpu_has_worker())
		uatomic_or(&URCU_COMPAT_SYM(route), URCU_COMPAT_ROUTE_CPUS);
	rcu_read_unlock();
	pthread_mutex_unlock(&route_lock);
}

/* The per-CPU route may be in use and reach the default worker: note it. */
static void note_default_if_asked(void)
{
	cmm_smp_mb();	/* the caller's stores come before the read of route_asked */
	if (uatomic_read(&route_asked) && !CMM_LOAD_SHARED(default_crdp))
		note_default(get_default_call_rcu_data());
}

static void cpu_detach_begin(void)
{
	pthread_mutex_lock(&route_lock);
	cpu_detaches++;
	uatomic_and(&URCU_COMPAT_SYM(route), ~URCU_COMPAT_ROUTE_CPUS);
	pthread_mutex_unlock(&route_lock);
	/*
	 * A call_rcu() that took the route bit (set after route_asked)
	 * before it was cleared may find its CPU's worker gone: the
	 * default worker is known before any worker is detached.
	 */
	note_default_if_asked();
}

static void cpu_detach_end(void)
{
	/*
	 * A first call_rcu() racing the detach: it stored route_asked before
	 * it looked its CPU's worker up. Either it found it gone and noted
	 * the default worker itself, or this sees route_asked.
	 */
	note_default_if_asked();
	pthread_mutex_lock(&route_lock);
	cpu_detaches--;
	pthread_mutex_unlock(&route_lock);
}

/*
 * call_rcu() from a thread with neither its own nor a per-CPU worker
 * goes to the default worker, creating it: note it.
 */
API void URCU_COMPAT_SYM(note_call_rcu)(void)
{
	struct call_rcu_data *crdp = NULL;
	int cpu, all = 0;

	if (get_thread_call_rcu_data()) {
		URCU_COMPAT_SYM(thread_worker) = 1;
		return;
	}
	if (!uatomic_read(&route_asked))
		uatomic_set(&route_asked, 1);
	cmm_smp_mb();	/* before the look-up: see cpu_detach_end() */
	cpu = sched_getcpu();
	rcu_read_lock();
	if (cpu >= 0 && cpu < ncpus)
		crdp = get_cpu_call_rcu_data(cpu);
	if (crdp)
		all = !CMM_LOAD_SHARED(cpu_detaches) && every_cpu_has_worker();
	rcu_read_unlock();
	if (!crdp)
		note_default(get_default_call_rcu_data());
	else if (all)
		set_route_cpus();
}

API void URCU_COMPAT_SYM(wrap_set_thread_call_rcu_data)(struct call_rcu_data *crdp)
{
	set_thread_call_rcu_data(crdp);
	URCU_COMPAT_SYM(thread_worker) = crdp != NULL;
}

/*
 * Detach cpu's worker (between cpu_detach_begin() and cpu_detach_end()).
 * Barriers no longer find it in the per-CPU slots, yet it may hold
 * callbacks until it is freed: its record becomes one the barriers cover
 * like a created worker's, until the free. *oldp: the worker detached.
 */
static int detach_cpu_worker(int cpu, struct call_rcu_data **oldp)
{
	struct call_rcu_data *old = NULL;
	struct worker *w;
	int ret = 0;

	*oldp = NULL;
	pthread_mutex_lock(&emul_lock);
	rcu_read_lock();
	if (cpu >= 0 && cpu < ncpus)
		old = get_cpu_call_rcu_data(cpu);
	if (old && old != default_crdp) {
		w = find_worker(old);
		if (!w)
			w = new_worker(old, 1);
		if (w)
			w->owned = 1;
		else
			ret = -ENOMEM;	/* still attached: nothing lost */
	}
	rcu_read_unlock();
	pthread_mutex_unlock(&emul_lock);
	if (ret)
		return ret;
	/*
	 * Not under emul_lock: liburcu takes its own mutex here, which a fork
	 * with liburcu's hooks holds while the library's atfork handler takes
	 * emul_lock. Covering the worker before it is detached is harmless.
	 */
	ret = set_cpu_call_rcu_data(cpu, NULL);
	if (!ret && !is_default(old))
		*oldp = old;
	return ret;
}

API int URCU_COMPAT_SYM(wrap_set_cpu_call_rcu_data)(int cpu, struct call_rcu_data *crdp)
{
	struct call_rcu_data *old;
	int ret;

	if (crdp)
		return set_cpu_call_rcu_data(cpu, crdp);
	cpu_detach_begin();
	ret = detach_cpu_worker(cpu, &old);
	cpu_detach_end();
	return ret;
}

API struct call_rcu_data *URCU_COMPAT_SYM(wrap_create_call_rcu_data)(unsigned long flags,
								int cpu_affinity)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	init_worker(w);
	w->owned = 1;
	w->crdp = create_call_rcu_data(flags, cpu_affinity);
	if (!w->crdp) {
		free(w);
		return NULL;
	}
	pthread_mutex_lock(&emul_lock);
	cds_list_add_tail(&w->node, &workers);
	pthread_mutex_unlock(&emul_lock);
	return w->crdp;
}

/*
 * Freeing a worker: mark it, queue a drain marker behind its callbacks,
 * wait until the marker has run on it, then let liburcu free it. With
 * its queue empty, liburcu moves nothing to the default worker, and so
 * never creates one nobody asked for. Barriers that start meanwhile wait
 * for the marker instead of queueing on the dying worker.
 *
 * start_drain: under emul_lock (and the RCU read lock for per-CPU ones).
 */
static void start_drain(struct call_rcu_data *crdp, void *token)
{
	static const struct worker blank;
	struct worker *w = find_worker(crdp);

	if (!w)
		w = new_worker(crdp, 0);
	if (!w && !spare_worker.spare) {
		/* Out of memory: the spare record, listed until the free ends. */
		spare_worker = blank;
		init_worker(&spare_worker);
		spare_worker.crdp = crdp;
		spare_worker.spare = 1;
		cds_list_add_tail(&spare_worker.node, &workers);
		w = &spare_worker;
	}
	if (!w) {
		/* Cannot follow it: cover the default worker instead. */
		w = &default_worker;
		w->freeing = token;
		return;
	}
	w->dying = 1;
	w->freeing = token;
	w->drain_pending = 1;
	enqueue_on(crdp, &w->drain_head, drain_cb);
}

static int drain_pending_for(void *token)	/* under emul_lock */
{
	struct worker *w;

	cds_list_for_each_entry(w, &workers, node)
		if (w->freeing == token && w->drain_pending)
			return 1;
	return 0;
}

static void wait_drain(void *token)	/* under emul_lock */
{
	int was_online;

	while (drain_pending_for(token)) {
		was_online = go_offline();
		pthread_cond_wait(&emul_done, &emul_lock);
		come_back(was_online);
	}
}

/*
 * After liburcu freed the workers marked with token, their records lose
 * the pointer. A worker that could not be tracked (out of memory) may
 * have had callbacks moved to the default worker: cover it from now on.
 */
static void end_drain(void *token)
{
	struct worker *w, *tmp;
	int moved = 0;

	pthread_mutex_lock(&emul_lock);
	if (default_worker.freeing == token) {
		default_worker.freeing = NULL;
		moved = 1;
	}
	cds_list_for_each_entry_safe(w, tmp, &workers, node) {
		if (w->freeing != token)
			continue;
		w->freeing = NULL;
		w->crdp = NULL;
		moved |= w->drain_pending;
		release_worker(w);
	}
	pthread_mutex_unlock(&emul_lock);
	if (moved && !default_crdp)
		note_default(get_default_call_rcu_data());
}

static void emul_call_rcu_data_free(struct call_rcu_data *crdp)
{
	int token;

	if (!crdp || crdp == default_crdp) {
		gated_call_rcu_data_free(crdp);
		return;
	}
	pthread_mutex_lock(&emul_lock);
	start_drain(crdp, &token);
	wait_drain(&token);
	pthread_mutex_unlock(&emul_lock);
	gated_call_rcu_data_free(crdp);
	end_drain(&token);
}

/*
 * The per-CPU workers are freed as by liburcu's
 * free_all_cpu_call_rcu_data(), in an order that loses nothing: each is
 * detached first (see detach_cpu_worker()), a grace period lets the
 * call_rcu() calls in flight on it finish, then its callbacks run on it
 * (drain) before liburcu frees it. Drained while still attached, a worker
 * would take more callbacks, which liburcu then moves to the default
 * worker behind the barriers' back. What the library cannot detach (out
 * of memory, or beyond the CPUs it knows: liburcu 0.12.5 and later size
 * the array on the possible CPUs) is left to liburcu's own call, whose
 * leftovers go to the default worker, noted then.
 */
#define CPU_BATCH	64	/* workers detached per grace period */

API void URCU_COMPAT_SYM(wrap_free_all_cpu_call_rcu_data)(void)
{
	struct call_rcu_data *batch[CPU_BATCH];
	int n, i, token, has, left = 0;
	long cpu = 0;

	cpu_detach_begin();
	while (cpu < ncpus) {
		for (n = 0; cpu < ncpus && n < CPU_BATCH; cpu++) {
			rcu_read_lock();
			has = get_cpu_call_rcu_data((int)cpu) != NULL;
			rcu_read_unlock();
			if (!has)
				continue;
			if (detach_cpu_worker((int)cpu, &batch[n]))
				left = 1;
			else if (batch[n])
				n++;
		}
		if (!n)
			continue;
		synchronize_rcu();	/* no call_rcu() reaches them any more */
		pthread_mutex_lock(&emul_lock);
		for (i = 0; i < n; i++)
			start_drain(batch[i], &token);
		wait_drain(&token);
		pthread_mutex_unlock(&emul_lock);
		for (i = 0; i < n; i++)
			gated_call_rcu_data_free(batch[i]);
		end_drain(&token);
	}
	gated_free_all_cpu_call_rcu_data();
	if (left && !CMM_LOAD_SHARED(default_crdp))
		note_default(get_default_call_rcu_data());
	cpu_detach_end();
}

#define free_worker emul_call_rcu_data_free

static void emul_prepare_fork(void)
{
	pthread_mutex_lock(&emul_lock);
}

static void emul_parent_fork(void)
{
	pthread_mutex_unlock(&emul_lock);
}

/*
 * fork() child: no worker thread exists; the records keep their
 * rendezvous until call_rcu_after_fork_child() moves them to the new
 * default worker, where they run.
 */
static void emul_child_fork(void)
{
	init_mutex(&emul_lock);
	init_emul_conds();
	init_mutex(&route_lock);
	cpu_detaches = 0;
}

/*
 * fork() child, before liburcu's call_rcu_after_fork_child() starts its
 * new default worker, so that no rendezvous runs yet: every record is
 * dying. Returns whether the parent had workers.
 */
static int emul_forget_workers(void)
{
	struct worker *w, *tmp;
	int had;

	pthread_mutex_lock(&emul_lock);
	had = have_workers();
	cds_list_for_each_entry_safe(w, tmp, &workers, node) {
		w->dying = 1;
		w->crdp = NULL;
		release_worker(w);
	}
	default_crdp = NULL;
	pthread_mutex_unlock(&emul_lock);
	return had;
}

/* After liburcu's call_rcu_after_fork_child(): only a new default is left. */
static void emul_after_fork_child(int had)
{
	/* liburcu dropped the per-CPU workers and this thread's own. */
	uatomic_set(&URCU_COMPAT_SYM(route), 0);
	URCU_COMPAT_SYM(thread_worker) = 0;
	if (had)
		note_default(get_default_call_rcu_data());
}

#else /* URCU_COMPAT_NATIVE_BARRIER */
/* ---------------------------------------------------------------- */
/* 3. Native barrier                                                  */
/* ---------------------------------------------------------------- */

/*
 * A bounded barrier runs liburcu's barrier in one helper thread, so that
 * its caller can stop waiting. Callers share the helper: each asks for a
 * barrier that starts after its call, and one run serves them all.
 */
static pthread_mutex_t runner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t runner_wake, runner_done;
static pthread_t runner_tid;
static int runner_started, runner_stop, runner_busy;
static unsigned long runner_req, runner_served;

/* Threads of this process; -1 when /proc cannot tell. */
static int thread_count(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *d;
	int threads = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			threads++;
	closedir(dir);
	return threads;
}

/*
 * liburcu's own list cannot be seen; a process with no thread but the
 * caller (one that forks before starting any, as daemons do) has none.
 */
static int have_workers(void)
{
	return thread_count() != 1;
}

static void *runner(void *arg)
{
	unsigned long gen;

	(void)arg;
	pthread_mutex_lock(&runner_lock);
	while (!runner_stop) {
		if (!seq_before(runner_served, runner_req)) {
			pthread_cond_wait(&runner_wake, &runner_lock);
			continue;
		}
		gen = runner_req;
		runner_busy = 1;
		pthread_mutex_unlock(&runner_lock);
		rcu_barrier();
		pthread_mutex_lock(&runner_lock);
		runner_busy = 0;
		runner_served = gen;
		pthread_cond_broadcast(&runner_done);
	}
	pthread_mutex_unlock(&runner_lock);
	return NULL;
}

static int do_barrier(const struct timespec *deadline)
{
	unsigned long target;
	int ret = 0, was_online, rc;

	if (!deadline) {
		rcu_barrier();
		return 0;
	}
	pthread_mutex_lock(&runner_lock);
	if (!runner_started) {
		rc = pthread_create(&runner_tid, NULL, runner, NULL);
		if (rc) {
			pthread_mutex_unlock(&runner_lock);
			return -rc;
		}
		runner_started = 1;
	}
	/* A run in progress may have started before this call: ask for one more. */
	target = ++runner_req;
	pthread_cond_signal(&runner_wake);
	while (seq_before(runner_served, target)) {
		was_online = go_offline();
		rc = wait_until(&runner_done, &runner_lock, deadline);
		come_back(was_online);
		if (rc == ETIMEDOUT && seq_before(runner_served, target)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&runner_lock);
	return ret;
}

static void stop_runner(void)
{
	int join;

	pthread_mutex_lock(&runner_lock);
	runner_stop = 1;
	pthread_cond_signal(&runner_wake);
	/* A run stuck behind a blocked callback is left behind. */
	join = runner_started && !runner_busy;
	pthread_mutex_unlock(&runner_lock);
	if (join) {
		pthread_join(runner_tid, NULL);
		runner_started = 0;
	}
}

static void note_default(struct call_rcu_data *crdp)
{
	CMM_STORE_SHARED(default_crdp, crdp);
}

#define free_worker gated_call_rcu_data_free

API void URCU_COMPAT_SYM(wrap_free_all_cpu_call_rcu_data)(void)
{
	gated_free_all_cpu_call_rcu_data();
}

static void emul_prepare_fork(void)
{
	pthread_mutex_lock(&runner_lock);
}

static void emul_parent_fork(void)
{
	pthread_mutex_unlock(&runner_lock);
}

static void emul_child_fork(void)
{
	init_mutex(&runner_lock);
	init_cond(&runner_wake);
	init_cond(&runner_done);
	runner_started = runner_busy = runner_stop = 0;
	runner_req = runner_served = 0;
}

static int emul_forget_workers(void)
{
	return 0;
}

static void emul_after_fork_child(int had)
{
	(void)had;
	/* liburcu replaced its default worker. */
	CMM_STORE_SHARED(default_crdp, NULL);
}

#endif /* URCU_COMPAT_NATIVE_BARRIER */

API void URCU_COMPAT_SYM(wrap_call_rcu_data_free)(struct call_rcu_data *crdp)
{
	struct stop s;

	if (!crdp || is_default(crdp)) {
		gated_call_rcu_data_free(crdp);	/* liburcu ignores them */
		return;
	}
	if (!stop_begin(&s, crdp))
		return;
	free_worker(crdp);
	stop_end(&s);
}

API struct call_rcu_data *URCU_COMPAT_SYM(wrap_get_default_call_rcu_data)(void)
{
	struct call_rcu_data *crdp = get_default_call_rcu_data();

	note_default(crdp);
	return crdp;
}

/*
 * Neither the thread's nor a per-CPU worker now: the default worker, or
 * a per-CPU worker detached meanwhile, which must not be taken for it
 * (the library would wait on it, and refuse to stop it, once freed).
 * Asking liburcu for its default worker then creates none, except in
 * that race.
 */
API struct call_rcu_data *URCU_COMPAT_SYM(wrap_get_call_rcu_data)(void)
{
	struct call_rcu_data *crdp;
	int dflt;

	rcu_read_lock();
	crdp = get_call_rcu_data();
	dflt = crdp != get_thread_call_rcu_data() && !is_cpu_worker(crdp);
	rcu_read_unlock();
	if (dflt && crdp == get_default_call_rcu_data())
		note_default(crdp);
	return crdp;
}

/* ---------------------------------------------------------------- */
/* Barriers                                                           */
/* ---------------------------------------------------------------- */

API int urcu_compat_barrier(void)
{
	int ret = barrier_misuse();

	return ret ? ret : do_barrier(NULL);
}

API int urcu_compat_barrier_timeout(unsigned int timeout_ms)
{
	struct timespec deadline;
	int ret = barrier_misuse();

	if (ret)
		return ret;
	deadline_in(&deadline, timeout_ms);
	return do_barrier(&deadline);
}

API int urcu_compat_native_barrier(void)
{
	return URCU_COMPAT_NATIVE_BARRIER;
}

API int urcu_compat_version(void)
{
	return URCU_COMPAT_VERSION;
}

API void URCU_COMPAT_SYM(rcu_barrier)(void)
{
	static int warned_reader, warned_worker, warned_child, warned_nomem;
	int ret = urcu_compat_barrier();

	if (ret == -EDEADLK && in_call_rcu_worker())
		warn_once(&warned_worker, "rcu_barrier() called from a call_rcu worker thread; not waiting.");
	else if (ret == -EDEADLK)
		warn_once(&warned_reader, "rcu_barrier() called from within RCU read-side critical section; not waiting.");
	else if (ret == -ESRCH)
		warn_once(&warned_child, "rcu_barrier() in a fork() child without call_rcu_after_fork_child(); not waiting.");
	else if (ret)
		warn_once(&warned_nomem, "rcu_barrier() could not track a call_rcu worker (out of memory).");
}

/* ---------------------------------------------------------------- */
/* 4. Worker stop: exactly one join                                   */
/* ---------------------------------------------------------------- */

/*
 * Some releases join the worker in call_rcu_data_free(), others do not,
 * behind the same soname. A joining free cannot return before the worker
 * has exited, so the worker's thread-specific-data destructor runs while
 * the free is still in progress. The first stop of the process has the
 * destructor planted in the worker wait (bounded) for the free to return:
 * if it does, the release does not join (proven); if not, it is taken as
 * joining, which can at worst leave a thread unjoined, never join one
 * twice.
 */
enum { JOIN_UNKNOWN, JOIN_BY_LIBURCU, JOIN_BY_US };
static int join_policy = RELEASE_08_OR_LATER ? JOIN_UNKNOWN : JOIN_BY_US;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cond;
static pthread_key_t probe_key;
static int probe_key_made;	/* pthread_key_create() succeeded */
static int warned_not_stopped;

/*
 * The watch a stop plants in the worker, shared by the stopping thread
 * and the worker's destructor: two references.
 */
struct exit_watch {
	struct rcu_head head;
	struct call_rcu_data *crdp;
	int refs, planted, probing, in_free, exited, free_returned_first;
};

/*
 * Lent to a stop out of memory (spare_watch.refs != 0: in use), so that
 * it still joins: a worker left unjoined may still be registered with
 * RCU, which a later fork() child would inherit.
 */
static struct exit_watch spare_watch;

static void put_watch(struct exit_watch *p)	/* under probe_lock */
{
	if (--p->refs)
		return;
	if (p == &spare_watch)
		pthread_cond_broadcast(&probe_cond);
	else
		free(p);
}

static void watch_destructor(void *arg);

/* A watch, or NULL without memory or a thread-specific key. */
static struct exit_watch *get_watch(void)
{
	static const struct exit_watch blank;
	struct exit_watch *p = calloc(1, sizeof(*p));
	struct timespec deadline;
	int key;

	pthread_mutex_lock(&probe_lock);
	if (!probe_key_made)	/* the constructor could not: try again */
		probe_key_made = !pthread_key_create(&probe_key, watch_destructor);
	key = probe_key_made;
	if (!p && key) {
		/* Another stop has the spare until its worker exits: wait. */
		deadline_in(&deadline, STOP_WAIT_MS);
		while (spare_watch.refs &&
		       pthread_cond_timedwait(&probe_cond, &probe_lock, &deadline) != ETIMEDOUT)
			;
		if (!spare_watch.refs) {
			spare_watch = blank;
			p = &spare_watch;
		}
	}
	if (p && key)
		p->refs = 2;
	pthread_mutex_unlock(&probe_lock);
	if (!key) {
		free(p);
		return NULL;
	}
	return p;
}

/* Runs in the worker thread as it exits. */
static void watch_destructor(void *arg)
{
	struct exit_watch *p = arg;
	struct timespec deadline;

	pthread_mutex_lock(&probe_lock);
	deadline_in(&deadline, JOIN_PROBE_MS);
	while (p->probing && p->in_free &&
	       pthread_cond_timedwait(&probe_cond, &probe_lock, &deadline) != ETIMEDOUT)
		;
	p->free_returned_first = !p->in_free;
	p->exited = 1;
	pthread_cond_broadcast(&probe_cond);
	put_watch(p);
	pthread_mutex_unlock(&probe_lock);
}

static void plant_watch(struct rcu_head *head)
{
	struct exit_watch *p = caa_container_of(head, struct exit_watch, head);
	int mine = get_thread_call_rcu_data() == p->crdp &&
		pthread_setspecific(probe_key, p) == 0;

	pthread_mutex_lock(&probe_lock);
	p->planted = mine ? 1 : -1;
	if (!mine)
		put_watch(p);
	pthread_cond_broadcast(&probe_cond);
	pthread_mutex_unlock(&probe_lock);
}

/*
 * Stop crdp; return 1 when this library must join its thread. The watch
 * also proves the thread exited before anyone joins it: a worker liburcu
 * does not stop (its default worker, when the library never saw it handed
 * out) is then left alone after STOP_WAIT_MS instead of joined forever.
 */
static int stop_worker(struct call_rcu_data *crdp)
{
	struct exit_watch *p = get_watch();
	struct timespec deadline;
	int join = 0, policy = uatomic_read(&join_policy);

	if (!p) {
		/* Cannot tell: never risk a join that would not return. */
		free_worker(crdp);
		return 0;
	}
	p->crdp = crdp;
	p->probing = policy == JOIN_UNKNOWN;
	enqueue_on(crdp, &p->head, plant_watch);
	pthread_mutex_lock(&probe_lock);
	while (!p->planted)
		pthread_cond_wait(&probe_cond, &probe_lock);
	p->in_free = 1;
	pthread_mutex_unlock(&probe_lock);

	free_worker(crdp);

	pthread_mutex_lock(&probe_lock);
	p->in_free = 0;
	pthread_cond_broadcast(&probe_cond);
	deadline_in(&deadline, STOP_WAIT_MS);
	while (p->planted > 0 && !p->exited &&
	       pthread_cond_timedwait(&probe_cond, &probe_lock, &deadline) != ETIMEDOUT)
		;
	if (!p->exited) {
		warn_once(&warned_not_stopped, "call_rcu worker did not stop (the default worker?); not joining it.");
	} else if (p->probing) {
		join = p->free_returned_first;
		uatomic_set(&join_policy, join ? JOIN_BY_US : JOIN_BY_LIBURCU);
	} else {
		join = policy == JOIN_BY_US;
	}
	put_watch(p);
	pthread_mutex_unlock(&probe_lock);
	return join;
}

API void urcu_compat_call_rcu_data_free(struct call_rcu_data *crdp)
{
	struct stop s;
	pthread_t tid;
	int was_online;

	if (!crdp || is_default(crdp) || !stop_begin(&s, crdp))
		return;
	tid = get_call_rcu_thread(crdp);
	was_online = go_offline();
	if (stop_worker(crdp))
		pthread_join(tid, NULL);
	come_back(was_online);
	stop_end(&s);
}

/* ---------------------------------------------------------------- */
/* 5. Fork hooks, exit barriers, constructor, destructor              */
/* ---------------------------------------------------------------- */

API void URCU_COMPAT_SYM(wrap_call_rcu_before_fork)(void)
{
	gate_enter(1);
	call_rcu_before_fork();
}

API void URCU_COMPAT_SYM(wrap_call_rcu_after_fork_parent)(void)
{
	call_rcu_after_fork_parent();
	gate_leave(1);
}

API void URCU_COMPAT_SYM(wrap_call_rcu_after_fork_child)(void)
{
	int had;

	gate_leave(1);	/* reset by the atfork handler already */
	had = emul_forget_workers();
	call_rcu_after_fork_child();
	emul_after_fork_child(had);
	CMM_STORE_SHARED(workers_lost_in_child, 0);
}

static void atfork_prepare(void)
{
	emul_prepare_fork();
	workers_at_fork = have_workers();
	pthread_mutex_lock(&probe_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&probe_lock);
	emul_parent_fork();
}

/*
 * After the conditions were made (constructor, fork() child: one thread):
 * if one of them fell back to CLOCK_REALTIME, all of them do, so that
 * every deadline is on the clock its condition waits on.
 */
static void settle_conds(void)
{
	static const pthread_cond_t fallback = PTHREAD_COND_INITIALIZER;

	if (!cond_failed)
		return;
	cond_failed = 0;
	wait_clock = CLOCK_REALTIME;
	probe_cond = fallback;
#if URCU_COMPAT_NATIVE_BARRIER
	runner_wake = fallback;
	runner_done = fallback;
#else
	emul_conds_fallback(&fallback);
#endif
}

static void atfork_child(void)
{
	gate_reset();
	stops_reset();
	init_mutex(&probe_lock);
	init_cond(&probe_cond);
	emul_child_fork();
	settle_conds();
	CMM_STORE_SHARED(workers_lost_in_child, workers_at_fork || liburcu_has_workers());
}

static unsigned int exit_count = 1, exit_timeout_ms = 1000;

API void urcu_compat_set_exit_barriers(unsigned int count, unsigned int timeout_ms)
{
	uatomic_set(&exit_count, count);
	uatomic_set(&exit_timeout_ms, timeout_ms);
}

static void urcu_compat_exit(void);

/*
 * Once loaded, the library stays until the process ends. After a
 * dlclose() of whatever brought it in (a plugin), liburcu and its
 * threads would still use its code and static storage: a bounded
 * barrier's helper thread, rendezvous callbacks queued on the workers, a
 * thread-specific key's destructor. The shared library is linked with
 * -z nodelete. Any other object holding this code (a plugin built with
 * the static library or the two files) marks itself RTLD_NODELETE here;
 * either way a later dlopen() finds it still there: no second
 * constructor, no second key. Weak: with glibc before 2.34 a process
 * that never loaded libdl unloads nothing; the main program (no name) is
 * never unloaded.
 */
extern __typeof__(dladdr1) dladdr1 __attribute__((weak));
extern __typeof__(dlopen) dlopen __attribute__((weak));

static void stay_loaded(void)
{
	struct link_map *map = NULL;
	Dl_info info;
	ElfW(Dyn) *d;

	if (!dladdr1 || !dlopen ||
	    !dladdr1(&ncpus, &info, (void **)&map, RTLD_DL_LINKMAP) ||
	    !map || !map->l_name || !map->l_name[0])
		return;
	for (d = map->l_ld; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NODELETE))
			return;
	/* Never closed: the object stays whatever its count. */
	if (!dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE))
		fprintf(stderr, "[error] urcu-compat: cannot keep the library loaded; do not unload it.\n");
}

static void __attribute__((constructor)) urcu_compat_init(void)
{
	stay_loaded();
	ncpus = sysconf(_SC_NPROCESSORS_CONF);
	if (pthread_condattr_init(&monotonic_attr) ||
	    pthread_condattr_setclock(&monotonic_attr, CLOCK_MONOTONIC))
		wait_clock = CLOCK_REALTIME;	/* the conditions' default */
	init_cond(&probe_cond);
#if URCU_COMPAT_NATIVE_BARRIER
	init_cond(&runner_wake);
	init_cond(&runner_done);
#else
	init_emul_conds();
	init_worker(&default_worker);
#endif
	settle_conds();
	probe_key_made = !pthread_key_create(&probe_key, watch_destructor);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	atexit(urcu_compat_exit);	/* without it, the destructor runs it */
}

/*
 * A fork() child without its workers, at exit: liburcu 0.12.5, 0.13.3+
 * stop the default worker at exit when its queue is empty, and join a
 * thread that only existed in the parent. A callback left in its queue
 * makes liburcu keep it. Possible only for a default worker the library
 * knows of.
 */
static void keep_cb(struct rcu_head *head)
{
	(void)head;
}

/*
 * bp: call_rcu() registers a thread that is not registered yet, under
 * bp's registry lock, which another thread of the parent may have held
 * at fork() (bp holds it during grace periods): the child would wait
 * forever. A registered thread takes no lock.
 */
static int call_rcu_locks_nothing(void)
{
#if defined(_URCU_BP_H)
	return URCU_TLS(rcu_reader) != NULL;
#else
	return 1;
#endif
}

static void keep_lost_default_worker(void)
{
	static struct rcu_head keep;
	struct call_rcu_data *crdp = CMM_LOAD_SHARED(default_crdp);

	if (crdp && call_rcu_locks_nothing())
		enqueue_on(crdp, &keep, keep_cb);
}

/*
 * An exit barrier gave up, or could not run (exit() from a callback or
 * inside a read-side critical section): a worker is stuck, or a grace
 * period cannot end. liburcu 0.12.5, 0.13.3 and later then free the
 * default worker if its queue is empty: a grace period, then a wait for
 * the worker to stop, forever when it is stuck in a callback after it
 * took its whole queue (with the barrier's rendezvous). A callback queued
 * now makes liburcu keep it, and stays queued while the worker is stuck.
 *
 * Native mode cannot know the default worker without asking liburcu,
 * which makes one if there was none. A worker made here takes that
 * callback at once and may never run it (a grace period that cannot
 * end): it gets a second one once it had time to take the first.
 */
#define KEEP_SETTLE_MS	20

static struct rcu_head exit_keep[2];
static int exit_keep_ran;

static void exit_keep_cb(struct rcu_head *head)
{
	(void)head;
	uatomic_set(&exit_keep_ran, 1);
}

static void keep_default_worker(void)
{
	struct call_rcu_data *crdp = CMM_LOAD_SHARED(default_crdp);
	int made = 0, was_online, ms;

#if URCU_COMPAT_NATIVE_BARRIER
	if (!crdp) {
		int threads = thread_count();

		crdp = get_default_call_rcu_data();
		made = threads < 0 || thread_count() != threads;
	}
#endif
	if (!crdp)
		return;
	enqueue_on(crdp, &exit_keep[0], exit_keep_cb);
	if (!made)
		return;
	was_online = go_offline();
	for (ms = 0; ms < KEEP_SETTLE_MS && !uatomic_read(&exit_keep_ran); ms++)
		poll(NULL, 0, 1);
	come_back(was_online);
	if (!uatomic_read(&exit_keep_ran))
		enqueue_on(crdp, &exit_keep[1], exit_keep_cb);
}

/*
 * Run by the destructor and by an atexit() handler, whichever comes
 * first. In a shared library both run with its destructors, before
 * liburcu's. A static program runs its atexit() handlers before every
 * destructor, and there liburcu's destructor, which may free the default
 * worker, runs before this library's.
 */
static void urcu_compat_exit(void)
{
	static int done;
	unsigned int i, count = uatomic_read(&exit_count);
	unsigned int timeout_ms = uatomic_read(&exit_timeout_ms);
	int ret = 0;

	if (uatomic_xchg(&done, 1))
		return;
	if (CMM_LOAD_SHARED(workers_lost_in_child)) {
		keep_lost_default_worker();
		return;
	}
	for (i = 0; i < count && !ret; i++)
		ret = urcu_compat_barrier_timeout(timeout_ms);
#if URCU_COMPAT_NATIVE_BARRIER
	stop_runner();
#endif
	if (ret)
		keep_default_worker();
}

static void __attribute__((destructor)) urcu_compat_fini(void)
{
	urcu_compat_exit();
}
