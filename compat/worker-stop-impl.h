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
 */
enum { JOIN_UNKNOWN, JOIN_BY_LIBURCU, JOIN_BY_US };
/* 0.7's call_rcu_data_free() never joins; 0.8+ may. */
static int join_policy = URCU_COMPAT_LIBURCU_HAS_BARRIER ? JOIN_UNKNOWN : JOIN_BY_US;
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
	put_watch(p);
	pthread_mutex_unlock(&probe_lock);
}

/* Runs in the worker; takes probe_lock. */
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
 * Takes probe_lock, never across mode_free_worker().
 */
static int stop_worker(struct call_rcu_data *crdp)
{
	struct exit_watch *p = get_watch();
	struct timespec deadline;
	int join = 0, policy = uatomic_read(&join_policy);

	/* The probe ends before the stop stops waiting for the worker. */
	CAA_BUILD_BUG_ON(JOIN_PROBE_MS >= STOP_WAIT_MS);
	if (!p) {
		/* Cannot tell: never risk a join that would not return. */
		mode_free_worker(crdp);
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
