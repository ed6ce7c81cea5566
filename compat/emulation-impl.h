/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emulation-impl.h - the emulation mode (liburcu 0.7, or forced): the barrier
 * built from rendezvous callbacks, the worker records it needs, the
 * call_rcu() fast path, and the frees that drain a worker first. Part of
 * urcu-compat.c (see the design there); implements mode.h.
 */
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

static int mode_may_have_workers(void)
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

static void mode_conds_fallback(const pthread_cond_t *fallback)
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
	CMM_STORE_SHARED(started, started + 1);	/* read unlocked by mode_barrier() */
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
	if (default_crdp)	/* mode_note_default() set default_worker.crdp */
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
static int mode_barrier(const struct timespec *deadline)
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
static void mode_note_default(struct call_rcu_data *crdp)
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
		mode_note_default(get_default_call_rcu_data());
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
		mode_note_default(get_default_call_rcu_data());
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
		mode_note_default(get_default_call_rcu_data());
}

static void mode_free_worker(struct call_rcu_data *crdp)
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

static void mode_free_all_cpu_workers(void)
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
		mode_note_default(get_default_call_rcu_data());
	cpu_detach_end();
}

static void mode_fork_prepare(void)
{
	pthread_mutex_lock(&emul_lock);
}

static void mode_fork_parent(void)
{
	pthread_mutex_unlock(&emul_lock);
}

/*
 * fork() child: no worker thread exists; the records keep their
 * rendezvous until call_rcu_after_fork_child() moves them to the new
 * default worker, where they run.
 */
static void mode_fork_child(void)
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
static int mode_forget_workers(void)
{
	struct worker *w, *tmp;
	int had;

	pthread_mutex_lock(&emul_lock);
	had = mode_may_have_workers();
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
static void mode_after_fork_child(int had)
{
	/* liburcu dropped the per-CPU workers and this thread's own. */
	uatomic_set(&URCU_COMPAT_SYM(route), 0);
	URCU_COMPAT_SYM(thread_worker) = 0;
	if (had)
		mode_note_default(get_default_call_rcu_data());
}

static void mode_init(void)
{
	init_emul_conds();
	init_worker(&default_worker);
}

/* Only the default worker the library was handed can be kept. */
static struct call_rcu_data *mode_default_worker_at_exit(int *made)
{
	*made = 0;
	return CMM_LOAD_SHARED(default_crdp);
}

/* The emulation has no thread of its own. */
static void mode_exit(void)
{
}

#endif /* !URCU_COMPAT_NATIVE_BARRIER */
