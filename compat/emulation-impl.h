/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emulation-impl.h - the emulation mode (liburcu 0.7, or forced): the barrier
 * built from rendezvous callbacks, the worker records it needs, and the
 * frees that drain a worker first. Part of urcu-compat.c (see the design
 * there); implements mode.h.
 */
#if !URCU_COMPAT_NATIVE_BARRIER
/*
 * Barriers in flight at once (each worker record holds one rendezvous
 * per slot); callers beyond that share the next one. A caller that finds
 * no free slot waits a whole worker cycle, so there are as many slots as
 * bits in the masks below.
 */
#define SLOTS 32

struct worker_record;

struct rendezvous {
	struct rcu_head head;
	struct worker_record *w;
	unsigned int slot;
};

/*
 * What the emulation knows of one call_rcu worker ("worker" is liburcu's
 * struct call_rcu_data and its thread).
 */
struct worker_record {
	struct cds_list_head node;
	struct call_rcu_data *crdp;	/* NULL once liburcu has freed it */
	struct rendezvous rv[SLOTS];	/* one per barrier in flight */
	struct rcu_head drain_head;	/* follows the callbacks of a freed worker */
	struct exit_watch *watch;	/* planted by the first rendezvous, then NULL */
	void *freeing;			/* free_id of the free in progress */
	/*
	 * Covered by every barrier until freed, not only while a CPU has
	 * it: created through the header, or a per-CPU worker the header
	 * detached (it may still hold callbacks).
	 */
	unsigned char keep_until_freed;
	unsigned char seen;		/* per-CPU worker in the current scan */
	unsigned int rv_pending;	/* bit per slot: rendezvous queued */
	unsigned char drain_pending;
	unsigned char dying;		/* being freed: no more rendezvous */
	unsigned char spare;		/* spare_record, lent to a free out of memory */
	unsigned int drain_waited;	/* bit per slot: that barrier counts the drain */
	struct stall_id id;		/* for the stall report */
};

static pthread_mutex_t emul_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_ran;	/* a drain marker ran */
/*
 * Generation g completed: gen_done[g % SLOTS]. One condition per slot, so
 * that a completion wakes its own callers only: a crowd of woken callers
 * on a busy machine delays the workers' grace periods.
 */
static pthread_cond_t gen_done[SLOTS];
static CDS_LIST_HEAD(records);
/*
 * Barrier generations: started - completed are in flight, generation g
 * in slot g % SLOTS with outstanding[] rendezvous (+1 while starting).
 */
static unsigned long started, completed;
static unsigned long outstanding[SLOTS];
static unsigned char slot_done[SLOTS];
static struct timespec gen_began[SLOTS];	/* when the generation in the slot started */
/* The most recent barrier that gave up: the generation it waited for, when it began. */
static unsigned long stall_need;
static struct timespec stall_began;
static int stall_known;
/*
 * The queue mark: what proves a worker's queue empty, so that its stop
 * needs no drain and an exit no barrier. call_rcu() through the header
 * sets it after its enqueue (urcu_compat_call_rcu() in the header); a
 * barrier clears it, then queues its rendezvous. Once a worker's
 * rendezvous ran, a mark still clear proves that no callback was queued
 * behind it through the header: a caller whose enqueue comes after the
 * rendezvous (later in the queue's atomic exchange) reads the mark after
 * the clear, and sets it. One mark for all workers: a call to any worker
 * costs the next stop its drain, never a lost callback.
 */
URCU_COMPAT_API int urcu_compat_queued;

static struct worker_record default_record;	/* static: never freed */
static struct worker_record spare_record;	/* lent to a free out of memory */

/* Under emul_lock. */
static int mode_may_have_workers(void)
{
	return !cds_list_empty(&records) || default_crdp;
}

/* Under emul_lock. */
static struct worker_record *find_record(struct call_rcu_data *crdp)
{
	struct worker_record *w;

	cds_list_for_each_entry(w, &records, node)
		if (w->crdp == crdp && !w->dying)
			return w;
	return NULL;
}

/* Takes emul_lock. */
static void mode_watch_worker(struct call_rcu_data *crdp, struct exit_watch *p)
{
	struct worker_record *w;

	pthread_mutex_lock(&emul_lock);
	w = find_record(crdp);
	if (w)
		w->watch = p;	/* else its stop queues it */
	pthread_mutex_unlock(&emul_lock);
}

static void init_emul_conds(void)
{
	unsigned int i;

	init_cond(&drain_ran);
	for (i = 0; i < SLOTS; i++)
		init_cond(&gen_done[i]);
}

static void mode_conds_fallback(const pthread_cond_t *fallback)
{
	unsigned int i;

	drain_ran = *fallback;
	for (i = 0; i < SLOTS; i++)
		gen_done[i] = *fallback;
}

static void init_record(struct worker_record *w)
{
	unsigned int i;

	for (i = 0; i < SLOTS; i++) {
		w->rv[i].w = w;
		w->rv[i].slot = i;
	}
}

/* Under emul_lock. */
static struct worker_record *new_record(struct call_rcu_data *crdp, int keep_until_freed)
{
	struct worker_record *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	init_record(w);
	w->crdp = crdp;
	stall_id_set(&w->id, crdp);
	w->keep_until_freed = keep_until_freed;
	cds_list_add_tail(&w->node, &records);
	return w;
}

/* Free a record nobody can reach any more. Under emul_lock. */
static void release_record(struct worker_record *w)
{
	if (w == &default_record || !w->dying || w->crdp ||
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
static void slot_count_down(unsigned int slot)
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
	struct worker_record *w = rv->w;
	unsigned int slot = rv->slot;

	if (CMM_LOAD_SHARED(w->dying)) {
		pthread_mutex_lock(&emul_lock);
		uatomic_and(&w->rv_pending, ~(1U << slot));
		slot_count_down(slot);
		release_record(w);
		pthread_mutex_unlock(&emul_lock);
		return;
	}
	stall_note_tid(&w->id);
	if (caa_unlikely(w->watch != NULL)) {	/* the worker's first rendezvous */
		watch_plant_here(w->watch);
		w->watch = NULL;
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
static void finish_drain_waits(struct worker_record *w)
{
	unsigned int slot;

	for (slot = 0; slot < SLOTS; slot++)
		if (w->drain_waited & (1U << slot))
			slot_count_down(slot);
	w->drain_waited = 0;
}

/* Runs in the worker; takes emul_lock. */
static void drain_cb(struct rcu_head *head)
{
	struct worker_record *w = caa_container_of(head, struct worker_record, drain_head);

	pthread_mutex_lock(&emul_lock);
	w->drain_pending = 0;
	finish_drain_waits(w);
	release_record(w);
	pthread_cond_broadcast(&drain_ran);	/* the free waits for it */
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
	struct worker_record *w;
	long cpu;

	for (cpu = 0; cpu < ncpus; cpu++) {
		crdp = get_cpu_call_rcu_data((int)cpu);
		if (!crdp || crdp == default_crdp)
			continue;
		w = find_record(crdp);
		if (!w)
			w = new_record(crdp, 0);
		if (!w)
			return -ENOMEM;
		if (!w->seen)
			w->id.cpu = (int)cpu;
		w->seen = 1;
	}
	return 0;
}

/* Under emul_lock and the RCU read lock (start_barrier()). */
static void enqueue_rendezvous(struct worker_record *w, unsigned int slot)
{
	uatomic_or(&w->rv_pending, 1U << slot);
	uatomic_inc(&outstanding[slot]);
	enqueue_on(w->crdp, &w->rv[slot].head, barrier_cb);
}

/* Start the next barrier: one rendezvous per worker. Under emul_lock. */
static int start_barrier(void)
{
	struct worker_record *w, *tmp;
	unsigned int slot;
	int ret;

	rcu_read_lock();
	ret = scan_cpu_workers();
	if (ret)
		goto out;
	CMM_STORE_SHARED(started, started + 1);	/* read unlocked by mode_barrier() */
	slot = started % SLOTS;
	mono_now(&gen_began[slot]);
	uatomic_set(&outstanding[slot], 1);
	/* The mark is clear before any rendezvous is queued (queue mark). */
	CMM_STORE_SHARED(urcu_compat_queued, 0);
	cmm_smp_mb();
	cds_list_for_each_entry(w, &records, node) {
		if (w->dying) {
			if (w->drain_pending) {
				w->drain_waited |= 1U << slot;
				uatomic_inc(&outstanding[slot]);
			}
		} else if (w->keep_until_freed || w->seen) {
			enqueue_rendezvous(w, slot);
		}
	}
	if (default_crdp)	/* mode_saw_default_worker() set default_record.crdp */
		enqueue_rendezvous(&default_record, slot);
out:
	rcu_read_unlock();
	/* Forget per-CPU workers that are gone. */
	cds_list_for_each_entry_safe(w, tmp, &records, node) {
		if (!w->keep_until_freed && !w->seen && !w->dying &&
		    !CMM_LOAD_SHARED(w->rv_pending)) {
			cds_list_del(&w->node);
			free(w);
		} else {
			if (!w->seen)
				w->id.cpu = -1;	/* serves no CPU now */
			w->seen = 0;
		}
	}
	if (!ret)
		slot_count_down(slot);
	return ret;
}

/*
 * Wait for a barrier that started after this call: its number is taken
 * before the lock, so callers that wait for the lock while another one
 * starts a barrier share that one. A caller that finds none starts one at
 * once while fewer than SLOTS are in flight (its rendezvous may join the
 * batch of the one in flight); otherwise it waits and shares the next one
 * with every caller that arrived before it started.
 * Takes emul_lock, and waits on gen_done[] with it.
 */
static int mode_barrier(const struct timespec *deadline, const struct timespec *began)
{
	unsigned long need;
	int ret = 0;

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
		if (wait_offline(&gen_done[need % SLOTS], &emul_lock, deadline) &&
		    seq_before(completed, need)) {
			ret = -ETIMEDOUT;
			stall_need = need;
			stall_began = *began;
			stall_known = 1;
			break;
		}
	}
	pthread_mutex_unlock(&emul_lock);
	return ret;
}

/*
 * Record the default worker, which exists once liburcu handed it out.
 * Takes emul_lock.
 */
static void mode_saw_default_worker(struct call_rcu_data *crdp)
{
	if (!crdp)
		return;
	pthread_mutex_lock(&emul_lock);
	default_crdp = crdp;
	if (default_record.crdp != crdp)
		stall_id_set(&default_record.id, crdp);
	default_record.crdp = crdp;
	pthread_mutex_unlock(&emul_lock);
}

/*
 * call_rcu() may reach liburcu's default worker: barriers must cover it.
 * Takes emul_lock the first time.
 */
static void mode_route_to_default(void)
{
	if (!CMM_LOAD_SHARED(default_crdp))
		mode_saw_default_worker(get_default_call_rcu_data());
}

/*
 * Detach cpu's worker (between cpu_detach_begin() and cpu_detach_end()).
 * Barriers no longer find it in the per-CPU slots, yet it may hold
 * callbacks until it is freed: its record becomes one the barriers cover
 * like a created worker's, until the free. *oldp: the worker detached.
 * Takes emul_lock, and liburcu's mutex only after releasing it.
 */
static int detach_cpu_worker(int cpu, struct call_rcu_data **oldp)
{
	struct call_rcu_data *old = NULL;
	struct worker_record *w;
	int ret = 0;

	*oldp = NULL;
	pthread_mutex_lock(&emul_lock);
	rcu_read_lock();
	if (cpu >= 0 && cpu < ncpus)
		old = get_cpu_call_rcu_data(cpu);
	if (old && old != default_crdp) {
		w = find_record(old);
		if (!w)
			w = new_record(old, 1);
		if (w)
			w->keep_until_freed = 1;
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

/* Between cpu_detach_begin() and cpu_detach_end() (route-impl.h). */
static int mode_detach_cpu_worker(int cpu)
{
	struct call_rcu_data *old;

	return detach_cpu_worker(cpu, &old);
}

URCU_COMPAT_API struct call_rcu_data *urcu_compat_wrap_create_call_rcu_data(unsigned long flags,
								int cpu_affinity)
{
	struct worker_record *w = calloc(1, sizeof(*w));

	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	init_record(w);
	w->keep_until_freed = 1;
	w->crdp = create_call_rcu_data(flags, cpu_affinity);
	if (!w->crdp) {
		free(w);
		return NULL;
	}
	stall_id_set(&w->id, w->crdp);
	pthread_mutex_lock(&emul_lock);
	cds_list_add_tail(&w->node, &records);
	pthread_mutex_unlock(&emul_lock);
	watch_created_worker(w->crdp);
	return w->crdp;
}

/* The library's worker: one made through the header, which barriers cover. */
static struct call_rcu_data *mode_create_worker(void)
{
	return urcu_compat_wrap_create_call_rcu_data(0, -1);
}

/*
 * Freeing a worker: mark it, queue a drain marker behind its callbacks,
 * wait until the marker has run on it, then let liburcu free it. With
 * its queue empty, liburcu moves nothing to the default worker, and so
 * never creates one nobody asked for. Barriers that start meanwhile wait
 * for the marker instead of queueing on the dying worker.
 *
 * free_id names one free (a single worker, or a batch of per-CPU ones):
 * the address of a local variable of that free, unique while it runs.
 *
 * start_drain: under emul_lock (and the RCU read lock for per-CPU ones).
 */
static void start_drain(struct call_rcu_data *crdp, void *free_id)
{
	static const struct worker_record blank;
	struct worker_record *w = find_record(crdp);

	if (!w)
		w = new_record(crdp, 0);
	if (!w && !spare_record.spare) {
		/* Out of memory: the spare record, listed until the free ends. */
		spare_record = blank;
		init_record(&spare_record);
		spare_record.crdp = crdp;
		stall_id_set(&spare_record.id, crdp);
		spare_record.spare = 1;
		cds_list_add_tail(&spare_record.node, &records);
		w = &spare_record;
	}
	if (!w) {
		/* Cannot follow it: cover the default worker instead. */
		w = &default_record;
		w->freeing = free_id;
		return;
	}
	w->dying = 1;
	w->freeing = free_id;
	w->drain_pending = 1;
	enqueue_on(crdp, &w->drain_head, drain_cb);
}

static int drain_pending_for(void *free_id)	/* under emul_lock */
{
	struct worker_record *w;

	cds_list_for_each_entry(w, &records, node)
		if (w->freeing == free_id && w->drain_pending)
			return 1;
	return 0;
}

static void wait_drain(void *free_id)	/* under emul_lock */
{
	while (drain_pending_for(free_id))
		wait_offline(&drain_ran, &emul_lock, NULL);
}

/*
 * After liburcu freed the workers marked with free_id, their records lose
 * the pointer. A worker that could not be tracked (out of memory) may
 * have had callbacks moved to the default worker: cover it from now on.
 * Takes emul_lock.
 */
static void end_drain(void *free_id)
{
	struct worker_record *w, *tmp;
	int moved = 0;

	pthread_mutex_lock(&emul_lock);
	if (default_record.freeing == free_id) {
		default_record.freeing = NULL;
		moved = 1;
	}
	cds_list_for_each_entry_safe(w, tmp, &records, node) {
		if (w->freeing != free_id)
			continue;
		w->freeing = NULL;
		w->crdp = NULL;
		moved |= w->drain_pending;
		release_record(w);
	}
	pthread_mutex_unlock(&emul_lock);
	if (moved && !default_crdp)
		mode_saw_default_worker(get_default_call_rcu_data());
}

/*
 * A worker the barriers cover until freed, whose queue is proven empty
 * (the queue mark): the mark is clear and every rendezvous queued on it
 * ran. It is marked dying, so
 * that no barrier queues on it any more, and needs no drain: liburcu's
 * free moves nothing. Under emul_lock.
 */
static int quiet_worker(struct call_rcu_data *crdp, void *free_id)
{
	struct worker_record *w = find_record(crdp);

	if (!w || !w->keep_until_freed || uatomic_read(&w->rv_pending))
		return 0;
	cmm_smp_mb();	/* the rendezvous ran before the mark is read */
	if (CMM_LOAD_SHARED(urcu_compat_queued))
		return 0;
	w->dying = 1;
	w->freeing = free_id;
	return 1;
}

/* Takes emul_lock, then passes the gate without it. */
static void mode_free_worker(struct call_rcu_data *crdp)
{
	int free_id;

	if (!crdp || crdp == default_crdp) {
		gated_call_rcu_data_free(crdp);
		return;
	}
	pthread_mutex_lock(&emul_lock);
	if (!quiet_worker(crdp, &free_id)) {
		start_drain(crdp, &free_id);
		wait_drain(&free_id);
	}
	pthread_mutex_unlock(&emul_lock);
	gated_call_rcu_data_free(crdp);
	end_drain(&free_id);
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

/* Takes fast_path_lock, emul_lock and the gate, one at a time. */
static void mode_free_all_cpu_workers(void)
{
	struct call_rcu_data *batch[CPU_BATCH];
	int n, i, free_id, has, left = 0;
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
			start_drain(batch[i], &free_id);
		wait_drain(&free_id);
		pthread_mutex_unlock(&emul_lock);
		for (i = 0; i < n; i++)
			gated_call_rcu_data_free(batch[i]);
		end_drain(&free_id);
	}
	gated_free_all_cpu_call_rcu_data();
	if (left && !CMM_LOAD_SHARED(default_crdp))
		mode_saw_default_worker(get_default_call_rcu_data());
	cpu_detach_end();
}

/* Takes emul_lock, held across fork(). */
static void mode_fork_prepare(void)
{
	pthread_mutex_lock(&emul_lock);
}

/* Releases emul_lock. */
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
}

/*
 * fork() child, before liburcu's call_rcu_after_fork_child() starts its
 * new default worker, so that no rendezvous runs yet: every record is
 * dying. Returns whether the parent had workers.
 * Takes emul_lock.
 */
static int mode_forget_workers(void)
{
	struct worker_record *w, *tmp;
	int had;

	pthread_mutex_lock(&emul_lock);
	had = mode_may_have_workers();
	cds_list_for_each_entry_safe(w, tmp, &records, node) {
		w->dying = 1;
		w->crdp = NULL;
		release_record(w);
	}
	default_crdp = NULL;
	default_record.crdp = NULL;	/* mode_after_fork_child() notes the new one */
	pthread_mutex_unlock(&emul_lock);
	return had;
}

/* After liburcu's call_rcu_after_fork_child(): only a new default is left. */
static void mode_after_fork_child(int had)
{
	if (had)
		mode_saw_default_worker(get_default_call_rcu_data());
}

static void mode_init(void)
{
	/* The limits the emulation relies on, checked at compile time: */
	/* rv_pending and drain_waited hold one bit per slot; */
	CAA_BUILD_BUG_ON((size_t)SLOTS > sizeof(unsigned int) * CHAR_BIT);
	/* generation g stays in slot g % SLOTS when the counters wrap; */
	CAA_BUILD_BUG_ON(SLOTS & (SLOTS - 1));
	/* a free of the per-CPU workers makes progress. */
	CAA_BUILD_BUG_ON(CPU_BATCH < 1);
	init_emul_conds();
	init_record(&default_record);
}

/*
 * The oldest generation from completed + 1 to last for which w still owes
 * a rendezvous or a drain: when it began, in *since. Under emul_lock.
 */
static int owes_since(struct worker_record *w, unsigned long last, struct timespec *since)
{
	unsigned int owed = uatomic_read(&w->rv_pending) | w->drain_waited;
	unsigned long g;

	for (g = completed + 1; !seq_before(last, g); g++) {
		if (owed & (1U << (g % SLOTS))) {
			*since = gen_began[g % SLOTS];
			return 1;
		}
	}
	return 0;
}

/*
 * The workers that owe the generations up to the one the most recent
 * barrier that gave up waited for (the later ones it does not wait for).
 * A record without its worker (a fork() child: liburcu moved what the
 * parent's workers held to the new default worker) counts for the
 * default worker. Takes emul_lock.
 */
static int mode_stalls(struct urcu_compat_stall *out, int max)
{
	struct timespec since, moved;
	struct worker_record *w;
	unsigned long last;
	int n = 0, dflt;

	pthread_mutex_lock(&emul_lock);
	if (!stall_known || !seq_before(completed, stall_need))
		goto out;
	last = seq_before(started, stall_need) ? started : stall_need;
	dflt = owes_since(&default_record, last, &moved);
	cds_list_for_each_entry(w, &records, node) {
		if (!owes_since(w, last, &since))
			continue;
		if (w->crdp)
			stall_add(out, max, &n, w->id.cpu >= 0 ? URCU_COMPAT_WORKER_CPU :
				  URCU_COMPAT_WORKER_THREAD, &w->id, &since, &stall_began);
		else if (!dflt++ || ts_before(&since, &moved))
			moved = since;
	}
	if (dflt && default_crdp)
		stall_add(out, max, &n, URCU_COMPAT_WORKER_DEFAULT, &default_record.id, &moved,
			  &stall_began);
out:
	pthread_mutex_unlock(&emul_lock);
	return n;
}

/* Only the default worker the library was handed can be kept. */
static struct call_rcu_data *mode_default_worker_at_exit(int *made)
{
	*made = 0;
	return CMM_LOAD_SHARED(default_crdp);
}

/*
 * Nothing was queued through the header since the last barrier began,
 * and every barrier is done (the queue mark): an exit barrier would find
 * nothing to wait for. Takes emul_lock.
 */
static int mode_nothing_queued(void)
{
	struct worker_record *w;
	int quiet;

	pthread_mutex_lock(&emul_lock);
	quiet = started == completed;
	cds_list_for_each_entry(w, &records, node)
		if (w->rv_pending || w->drain_pending)
			quiet = 0;
	cmm_smp_mb();	/* the rendezvous ran before the mark is read */
	if (CMM_LOAD_SHARED(urcu_compat_queued))
		quiet = 0;
	pthread_mutex_unlock(&emul_lock);
	return quiet;
}

/* The emulation has no thread of its own. */
static void mode_exit(void)
{
}

#endif /* !URCU_COMPAT_NATIVE_BARRIER */
