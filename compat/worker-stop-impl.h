/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * worker-stop-impl.h - stopping a call_rcu worker with exactly one join on
 * every release (the join probe and the exit watch), the frees and the
 * default-worker calls the header routes here. Part of urcu-compat.c (see
 * the design there).
 */

/* Wait bound of the one-time probe of whether call_rcu_data_free() joins. */
#define JOIN_PROBE_MS		250
/* How long a worker stop waits for the worker to leave before it warns. */
#define STOP_WAIT_MS		5000

/*
 * Some releases join the worker in call_rcu_data_free(), others do not,
 * behind the same soname. A joining free cannot return before the worker
 * has exited, so the worker's thread-specific-data destructor runs while
 * the free is still in progress. The first stop of the process has the
 * destructor planted in the worker wait (bounded) for the free to return:
 * if it does, the release does not join (proven); if not, it is taken as
 * joining, which can at worst leave a thread unjoined, never join one
 * twice.
 *
 * memb and mb need no probe where liburcu exports urcu_memb_exit or
 * urcu_mb_exit: 0.12.5, 0.13.3 and later, which all join (0.12.4 and
 * 0.13.2 export neither). The name can only ever say "joins"; without
 * it, the probe decides. A weak reference: resolved by the dynamic
 * linker when the liburcu in use has the name, whatever release the
 * library was built on.
 */
enum { JOIN_UNKNOWN, JOIN_BY_LIBURCU, JOIN_BY_US };
/* 0.7's call_rcu_data_free() never joins; 0.8+ may. */
static int join_policy = URCU_COMPAT_LIBURCU_HAS_BARRIER ? JOIN_UNKNOWN : JOIN_BY_US;
#if URCU_COMPAT_LIBURCU_HAS_BARRIER
#if defined(URCU_COMPAT_FLAVOR_IS_MEMB)
extern void urcu_memb_exit(void) __attribute__((weak));
#define JOINING_RELEASE_HINT()	(urcu_memb_exit != NULL)
#elif defined(URCU_COMPAT_FLAVOR_IS_MB)
extern void urcu_mb_exit(void) __attribute__((weak));
#define JOINING_RELEASE_HINT()	(urcu_mb_exit != NULL)
#else
#define JOINING_RELEASE_HINT()	0	/* qsbr, signal, bp: the probe decides */
#endif
#else
#define JOINING_RELEASE_HINT()	0	/* 0.7: never joins */
#endif
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cond;
static pthread_key_t probe_key;
static int probe_key_made;	/* pthread_key_create() succeeded */
static int warned_not_stopped;

/*
 * The watch planted in a worker's thread (a thread-specific value whose
 * destructor runs as the thread exits), shared by two of: the worker's
 * destructor, the stopping thread, the list of early watches.
 *
 * A worker created through the header gets its watch at once (an early
 * watch, listed until a stop takes it or the worker exits): planted by
 * the worker's first batch (native mode) or first rendezvous (the
 * emulation), in general long before the stop, which then costs no
 * worker cycle of its own. A stop of any other worker plants one first
 * and waits for it (one worker cycle).
 */
struct exit_watch {
	struct rcu_head head;
	struct call_rcu_data *crdp;
	struct exit_watch *next;	/* early watches, newest first */
	int refs, planted, probing, in_free, exited, free_returned_first, listed;
	int queued;	/* plant_watch() queued on the worker */
};

static struct exit_watch *early_watches;	/* under probe_lock */

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

/* Take p off the list of early watches; its reference passes to the caller. */
static void unlist_watch(struct exit_watch *p)	/* under probe_lock */
{
	struct exit_watch **pp;

	for (pp = &early_watches; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	p->listed = 0;
}

static void watch_destructor(void *arg);

/* Make the thread-specific key if the constructor could not. Under probe_lock. */
static int watch_key(void)
{
	if (!probe_key_made)
		probe_key_made = !pthread_key_create(&probe_key, watch_destructor);
	return probe_key_made;
}

/*
 * A watch, or NULL without memory or a thread-specific key. Takes
 * probe_lock.
 */
static struct exit_watch *get_watch(void)
{
	static const struct exit_watch blank;
	struct exit_watch *p = calloc(1, sizeof(*p));
	struct timespec deadline;
	int key;

	pthread_mutex_lock(&probe_lock);
	key = watch_key();
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

/* Runs in the worker thread as it exits. Takes probe_lock. */
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
	if (p->listed) {
		/* Stopped without the library: drop the list's reference too. */
		unlist_watch(p);
		p->refs--;	/* never the last: the worker's is still held */
	}
	put_watch(p);
	pthread_mutex_unlock(&probe_lock);
}

/* Runs in the worker; takes probe_lock. */
static void plant_watch(struct rcu_head *head)
{
	struct exit_watch *p = caa_container_of(head, struct exit_watch, head);
	int mine;

	pthread_mutex_lock(&probe_lock);
	if (p->planted) {	/* by the worker's first rendezvous meanwhile */
		pthread_mutex_unlock(&probe_lock);
		return;
	}
	mine = get_thread_call_rcu_data() == p->crdp &&
		pthread_setspecific(probe_key, p) == 0;
	p->planted = mine ? 1 : -1;
	if (!mine)
		put_watch(p);
	pthread_cond_broadcast(&probe_cond);
	pthread_mutex_unlock(&probe_lock);
}

#if !URCU_COMPAT_NATIVE_BARRIER
/*
 * The emulation: from a rendezvous running in p's worker, its first.
 * Takes probe_lock.
 */
static void watch_plant_here(struct exit_watch *p)
{
	pthread_mutex_lock(&probe_lock);
	if (!p->planted && p->crdp && get_thread_call_rcu_data() == p->crdp &&
	    pthread_setspecific(probe_key, p) == 0) {
		p->planted = 1;
		pthread_cond_broadcast(&probe_cond);
	}
	pthread_mutex_unlock(&probe_lock);
}
#endif

/*
 * crdp was just created through the header: give it an early watch,
 * unless stops need none (liburcu joins). Native mode queues it at once.
 * The emulation has the worker's first rendezvous plant it
 * (mode_watch_worker()): a callback queued at creation could still be
 * queued at a fork(), and liburcu 0.7 crashes a child when it moves the
 * queue of a worker the child lost. Without a barrier first, the stop
 * queues it. Out of memory, the stop plants one. Takes probe_lock.
 */
static void watch_created_worker(struct call_rcu_data *crdp)
{
	struct exit_watch *p;

	if (!crdp || uatomic_read(&join_policy) == JOIN_BY_LIBURCU)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->crdp = crdp;
	pthread_mutex_lock(&probe_lock);
	if (!watch_key()) {
		pthread_mutex_unlock(&probe_lock);
		free(p);
		return;
	}
	p->refs = 2;	/* the list's and the worker's */
	p->listed = 1;
	p->queued = URCU_COMPAT_NATIVE_BARRIER;
	p->next = early_watches;
	early_watches = p;
	pthread_mutex_unlock(&probe_lock);
	if (p->queued)
		enqueue_on(crdp, &p->head, plant_watch);
	else
		mode_watch_worker(crdp, p);
}

/*
 * The newest early watch of crdp, taken off the list (the caller holds
 * the list's reference), or NULL. Under probe_lock.
 */
static struct exit_watch *take_early_watch(struct call_rcu_data *crdp)
{
	struct exit_watch *p;

	/* A watch a fork child kept (crdp NULL) never matches: crdp is not NULL. */
	for (p = early_watches; p; p = p->next)
		if (p->crdp == crdp && !p->exited)
			break;
	if (p)
		unlist_watch(p);
	return p;
}

/*
 * fork() child, the only thread: the workers of the early watches are
 * gone. A watch queued but not planted yet is still in a queue:
 * liburcu's call_rcu_after_fork_child() moves it to the new default
 * worker, where it runs, finds itself elsewhere and drops one reference.
 * It stays listed, matching no worker (crdp NULL), and is never freed.
 * The others are freed: nothing of the child refers to them.
 */
static void forget_early_watches(void)
{
	struct exit_watch *p, **pp = &early_watches;

	while ((p = *pp) != NULL) {
		if (p->queued && !p->planted) {
			p->crdp = NULL;
			pp = &p->next;
		} else {
			*pp = p->next;
			free(p);
		}
	}
}

/*
 * Stop crdp; return 1 when this library must join its thread. The watch
 * also proves the thread exited before anyone joins it: a worker liburcu
 * does not stop (its default worker, when the library never saw it handed
 * out) is then left alone after STOP_WAIT_MS instead of joined forever.
 * Where liburcu joins (known), the stop is liburcu's free alone.
 * Takes probe_lock, never across mode_free_worker().
 */
static int stop_worker(struct call_rcu_data *crdp)
{
	struct exit_watch *p;
	struct timespec deadline;
	int join = 0, queue = 0, policy = uatomic_read(&join_policy);

	/* The probe ends before the stop stops waiting for the worker. */
	CAA_BUILD_BUG_ON(JOIN_PROBE_MS >= STOP_WAIT_MS);

	pthread_mutex_lock(&probe_lock);
	p = take_early_watch(crdp);
	if (p && (policy == JOIN_BY_LIBURCU || p->planted < 0)) {
		put_watch(p);	/* not needed, or it ran elsewhere */
		p = NULL;
	} else if (p && !p->planted && !p->queued) {
		p->queued = queue = 1;	/* no rendezvous planted it */
	}
	pthread_mutex_unlock(&probe_lock);
	if (queue)
		enqueue_on(crdp, &p->head, plant_watch);
	if (policy == JOIN_BY_LIBURCU) {
		mode_free_worker(crdp);
		return 0;
	}
	if (!p) {
		p = get_watch();
		if (!p) {
			/* Cannot tell: never risk a join that would not return. */
			mode_free_worker(crdp);
			return 0;
		}
		p->crdp = crdp;
		p->queued = 1;
		enqueue_on(crdp, &p->head, plant_watch);
	}
	pthread_mutex_lock(&probe_lock);
	p->probing = policy == JOIN_UNKNOWN;
	while (!p->planted)
		pthread_cond_wait(&probe_cond, &probe_lock);
	p->in_free = 1;
	pthread_mutex_unlock(&probe_lock);

	mode_free_worker(crdp);

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

/* urcu_compat_call_rcu_data_free(), also of the library's worker (at exit). */
static void free_and_join(struct call_rcu_data *crdp)
{
	struct stop s;
	pthread_t tid;
	int was_online;

	if (!crdp || is_default(crdp) || !stop_begin(&s, crdp))
		return;
	tid = get_call_rcu_thread(crdp);
	was_online = qsbr_offline_to_wait();
	if (stop_worker(crdp))
		pthread_join(tid, NULL);
	qsbr_online_after_wait(was_online);
	stop_end(&s);
}

URCU_COMPAT_API void urcu_compat_call_rcu_data_free(struct call_rcu_data *crdp)
{
	if (!is_library_worker(crdp))
		free_and_join(crdp);
}

/* The header's call_rcu_data_free(): a stop without the join. */
URCU_COMPAT_API void urcu_compat_wrap_call_rcu_data_free(struct call_rcu_data *crdp)
{
	struct stop s;

	if (is_library_worker(crdp))
		return;
	if (!crdp || is_default(crdp)) {
		gated_call_rcu_data_free(crdp);	/* liburcu ignores them */
		return;
	}
	if (!stop_begin(&s, crdp))
		return;
	mode_free_worker(crdp);
	stop_end(&s);
}

URCU_COMPAT_API void urcu_compat_wrap_free_all_cpu_call_rcu_data(void)
{
	mode_free_all_cpu_workers();
}

URCU_COMPAT_API struct call_rcu_data *urcu_compat_wrap_get_default_call_rcu_data(void)
{
	struct call_rcu_data *crdp = get_default_call_rcu_data();

	mode_saw_default_worker(crdp);
	return crdp;
}

/*
 * Neither the thread's nor a per-CPU worker now: the default worker, or
 * a per-CPU worker detached meanwhile, which must not be taken for it
 * (the library would wait on it, and refuse to stop it, once freed).
 * Asking liburcu for its default worker then creates none, except in
 * that race.
 */
URCU_COMPAT_API struct call_rcu_data *urcu_compat_wrap_get_call_rcu_data(void)
{
	struct call_rcu_data *crdp;
	int dflt;

	rcu_read_lock();
	crdp = get_call_rcu_data();
	dflt = crdp != get_thread_call_rcu_data() && !is_cpu_worker(crdp);
	rcu_read_unlock();
	if (dflt && crdp == get_default_call_rcu_data())
		mode_saw_default_worker(crdp);
	return crdp;
}
