/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checks-impl.h - what both modes share: clocks and conditions, the misuse
 * checks every barrier makes (read side, callback, fork() child), QSBR
 * offline while waiting, the gate between worker frees and fork hooks,
 * the record of stops in progress, and the barrier entry points. Part of
 * urcu-compat.c (see the design there).
 */

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
	CAA_BUILD_BUG_ON((time_t)-1 > 0);	/* TIME_T_MAX is a signed maximum */
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

/*
 * Wait on cond; return ETIMEDOUT once deadline (if any) has passed. Called
 * with mutex held; returns with it held.
 */
static int wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex,
		      const struct timespec *deadline)
{
	if (!deadline) {
		pthread_cond_wait(cond, mutex);
		return 0;
	}
	return pthread_cond_timedwait(cond, mutex, deadline);
}

/* CLOCK_MONOTONIC, whatever the conditions wait on: stall reports' times. */
static void mono_now(struct timespec *ts)
{
	if (clock_gettime(CLOCK_MONOTONIC, ts)) {
		ts->tv_sec = 0;	/* cannot happen on Linux */
		ts->tv_nsec = 0;
	}
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

/*
 * An early exit watch for a worker created through the header, and (the
 * emulation) its planting by the worker's first rendezvous
 * (worker-stop-impl.h).
 */
struct exit_watch;
static void watch_created_worker(struct call_rcu_data *crdp);
#if !URCU_COMPAT_NATIVE_BARRIER
static void watch_plant_here(struct exit_watch *p);
#endif

static void warn_once(int *warned, const char *msg)
{
	if (!uatomic_xchg(warned, 1))
		fprintf(stderr, "[error] urcu-compat: %s\n", msg);
}

/*
 * Read side active; for QSBR, "online". A bp thread that never entered a
 * read side is not registered: bp's rcu_read_ongoing() would register it
 * and take bp's registry lock, which another thread may hold (forever in
 * a fork() child without liburcu's hooks).
 */
static int reader_active(void)
{
#if defined(_URCU_BP_H)
	if (!URCU_TLS(rcu_reader))
		return 0;
#endif
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
static int qsbr_offline_to_wait(void)
{
	if (URCU_COMPAT_IS_QSBR && reader_active()) {
		rcu_thread_offline();
		return 1;
	}
	return 0;
}

static void qsbr_online_after_wait(int was_online)
{
	if (was_online)
		rcu_thread_online();
}

/*
 * Wait on cond, offline meanwhile for QSBR. Called with mutex held;
 * returns with it held, 1 once deadline (if any) has passed.
 */
static int wait_offline(pthread_cond_t *cond, pthread_mutex_t *mutex,
			const struct timespec *deadline)
{
	int was_online = qsbr_offline_to_wait();
	int rc = wait_until(cond, mutex, deadline);

	qsbr_online_after_wait(was_online);
	return rc == ETIMEDOUT;
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

/* Takes gate_lock; the caller holds no lock of the library. */
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

/* Takes gate_lock. */
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

/*
 * Record the stop of crdp in s; 0 (and a one-time message) when one is in
 * progress. Takes stops_lock.
 */
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

/* Takes stops_lock. */
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

/* Passes the gate; the caller holds no lock of the library. */
static void gated_call_rcu_data_free(struct call_rcu_data *crdp)
{
	gate_enter(0);
	call_rcu_data_free(crdp);
	gate_leave(0);
}

/* Passes the gate; the caller holds no lock of the library. */
static void gated_free_all_cpu_call_rcu_data(void)
{
	gate_enter(0);
	free_all_cpu_call_rcu_data();
	gate_leave(0);
}

/* The barriers: the checks, then the mode's barrier. */

URCU_COMPAT_API int urcu_compat_barrier(void)
{
	int ret = barrier_misuse();

	return ret ? ret : mode_barrier(NULL, NULL);
}

URCU_COMPAT_API int urcu_compat_barrier_timeout(unsigned int timeout_ms)
{
	struct timespec began, deadline;
	int ret = barrier_misuse();

	if (ret)
		return ret;
	mono_now(&began);
	deadline_in(&deadline, timeout_ms);
	return mode_barrier(&deadline, &began);
}

URCU_COMPAT_API int urcu_compat_native_barrier(void)
{
	return URCU_COMPAT_NATIVE_BARRIER;
}

URCU_COMPAT_API int urcu_compat_version(void)
{
	return URCU_COMPAT_VERSION;
}

URCU_COMPAT_API void urcu_compat_rcu_barrier(void)
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
