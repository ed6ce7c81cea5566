/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stall-impl.h - what a barrier that gave up still waits for: the report
 * (urcu_compat_barrier_stalls(), each mode's mode_stalls()), its one-time
 * line at exit under URCU_COMPAT_DEBUG=stall, and the workers native mode
 * knows of, each with a probe that a bounded barrier queues on it just
 * before liburcu's barrier. Part of urcu-compat.c (see the design there).
 */

/* What the report tells of one worker; either mode keeps one per worker. */
struct stall_id {
	pthread_t thread;	/* get_call_rcu_thread(), read when first seen */
	long tid;		/* kernel tid, 0 until a rendezvous ran there */
	int cpu;		/* the CPU it served at the last look, or -1 */
};

/* crdp is alive (the caller knows why). */
static void stall_id_set(struct stall_id *id, struct call_rcu_data *crdp)
{
	id->thread = get_call_rcu_thread(crdp);
	CMM_STORE_SHARED(id->tid, 0);
	id->cpu = -1;
}

/* In the worker's own thread: its kernel tid, the first time. */
static void stall_note_tid(struct stall_id *id)
{
	if (!CMM_LOAD_SHARED(id->tid))
		CMM_STORE_SHARED(id->tid, (long)syscall(SYS_gettid));
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * One worker in the report: out[*n] while *n < max; *n counts them all.
 * It has been waited for since the earlier of since (its oldest
 * rendezvous still pending) and began (the barrier that gave up).
 */
static void stall_add(struct urcu_compat_stall *out, int max, int *n, int kind,
		      const struct stall_id *id, const struct timespec *since,
		      const struct timespec *began)
{
	struct timespec now, from = ts_before(since, began) ? *since : *began;
	long long ms;

	if (*n < max) {
		mono_now(&now);
		ms = ((long long)(now.tv_sec - from.tv_sec) * 1000000000LL +
		      (now.tv_nsec - from.tv_nsec)) / 1000000;
		out[*n].kind = kind;
		out[*n].cpu = kind == URCU_COMPAT_WORKER_CPU ? id->cpu : -1;
		out[*n].thread = id->thread;
		out[*n].tid = CMM_LOAD_SHARED(id->tid);
		out[*n].waited_ms = ms < 0 ? 0 : ms > UINT_MAX ? UINT_MAX : (unsigned int)ms;
	}
	(*n)++;
}

URCU_COMPAT_API int urcu_compat_barrier_stalls(struct urcu_compat_stall *out, int max)
{
	if (max < 0 || (max > 0 && !out))
		return -EINVAL;
	if (CMM_LOAD_SHARED(workers_lost_in_child))
		return -ESRCH;
	return mode_stalls(out, max);
}

/* URCU_COMPAT_DEBUG, read once by the constructor: a list of words. */
static int debug_stall;

static void stall_init(void)
{
	const char *v = getenv("URCU_COMPAT_DEBUG");
	size_t len;

	while (v && *v) {
		len = strcspn(v, ", ");
		if (len == 5 && !strncmp(v, "stall", 5))
			debug_stall = 1;
		v += len + (v[len] != '\0');
	}
}

#define STALL_LINE_WORKERS	8	/* named in the line; the others counted */

/* One worker of the report, in words, at the end of line. */
static size_t stall_words(char *line, size_t len, size_t size, const struct urcu_compat_stall *s)
{
	const char *kind = s->kind == URCU_COMPAT_WORKER_DEFAULT ? "the default worker" :
		s->kind == URCU_COMPAT_WORKER_CPU ? "the worker of CPU" : "a worker";
	char cpu[16] = "";

	if (len >= size)
		return len;
	if (s->kind == URCU_COMPAT_WORKER_CPU)
		snprintf(cpu, sizeof(cpu), " %d", s->cpu);
	return len + (size_t)snprintf(line + len, size - len, " %s%s (thread %#lx, tid %ld, %u ms)",
				      kind, cpu, (unsigned long)s->thread, s->tid, s->waited_ms);
}

/*
 * An exit barrier gave up after timeout_ms: with URCU_COMPAT_DEBUG=stall,
 * one line on stderr naming what it waits for, once per process.
 */
static void stall_exit_line(unsigned int timeout_ms)
{
	static int printed;
	struct urcu_compat_stall s[STALL_LINE_WORKERS];
	char line[1024];
	size_t len;
	int i, n;

	if (!debug_stall || uatomic_xchg(&printed, 1))
		return;
	n = urcu_compat_barrier_stalls(s, STALL_LINE_WORKERS);
	len = (size_t)snprintf(line, sizeof(line),
			       "[debug] urcu-compat: stall: the exit barrier gave up after %u ms; ",
			       timeout_ms);
	if (n < 0)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "no report (%d)", n);
	else if (n == 0)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"it waits for no worker the library knows of");
	else
		len += (size_t)snprintf(line + len, sizeof(line) - len, "it waits for %d worker%s:",
					n, n > 1 ? "s" : "");
	for (i = 0; i < n && i < STALL_LINE_WORKERS; i++) {
		if (i && len < sizeof(line))
			len += (size_t)snprintf(line + len, sizeof(line) - len, ";");
		len = stall_words(line, len, sizeof(line), &s[i]);
	}
	if (n > STALL_LINE_WORKERS && len < sizeof(line))
		snprintf(line + len, sizeof(line) - len, "; and %d more", n - STALL_LINE_WORKERS);
	fprintf(stderr, "%s\n", line);
}

#if URCU_COMPAT_NATIVE_BARRIER
/*
 * Native mode: liburcu's list of workers is private. The library knows
 * the default worker once the header handed it out, and the workers
 * created through the header (create_call_rcu_data(),
 * create_all_cpu_call_rcu_data()). A bounded barrier's helper thread
 * queues a probe on each of them that has none pending, just before
 * liburcu's barrier queues its own callback behind it: a worker whose
 * probe has not run holds that barrier up. Workers freed through the
 * header get no probe once their free began; liburcu moves a probe still
 * queued to its default worker, where it runs.
 */
struct known_worker {
	struct cds_list_head node;
	struct call_rcu_data *crdp;	/* NULL once liburcu has freed it */
	struct stall_id id;
	struct rcu_head probe;
	struct timespec probed;		/* when the pending probe was queued */
	int probe_pending;
	void *freeing;			/* the free in progress, which probes no more */
};

static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(known_workers);
static struct known_worker known_default;	/* static, not listed */

/* Under known_lock. */
static void known_release(struct known_worker *w)
{
	if (w != &known_default && !w->crdp && !w->probe_pending) {
		cds_list_del(&w->node);
		free(w);
	}
}

/* Runs in a worker: its own, or the default one liburcu moved it to. */
static void probe_cb(struct rcu_head *head)
{
	struct known_worker *w = caa_container_of(head, struct known_worker, probe);

	pthread_mutex_lock(&known_lock);
	if (w->crdp && w->crdp == get_thread_call_rcu_data())
		stall_note_tid(&w->id);
	w->probe_pending = 0;
	known_release(w);
	pthread_mutex_unlock(&known_lock);
}

/* Under known_lock. */
static void probe(struct known_worker *w, const struct timespec *now)
{
	if (!w->crdp || w->freeing || w->probe_pending)
		return;
	w->probe_pending = 1;
	w->probed = *now;
	enqueue_on(w->crdp, &w->probe, probe_cb);
}

/*
 * In the helper thread, before liburcu's barrier: note which known
 * worker serves which CPU (pointers compared, none followed), then probe.
 * Takes known_lock.
 */
static void known_probe_all(void)
{
	struct call_rcu_data *crdp;
	struct known_worker *w;
	struct timespec now;
	long cpu;

	mono_now(&now);
	pthread_mutex_lock(&known_lock);
	cds_list_for_each_entry(w, &known_workers, node)
		w->id.cpu = -1;
	for (cpu = ncpus - 1; cpu >= 0; cpu--) {
		crdp = get_cpu_call_rcu_data((int)cpu);
		cds_list_for_each_entry(w, &known_workers, node)
			if (crdp && w->crdp == crdp)
				w->id.cpu = (int)cpu;
	}
	cds_list_for_each_entry(w, &known_workers, node)
		probe(w, &now);
	probe(&known_default, &now);
	pthread_mutex_unlock(&known_lock);
}

/* Takes known_lock. */
static void known_add(struct call_rcu_data *crdp)
{
	struct known_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return;	/* not reported, nothing else lost */
	w->crdp = crdp;
	stall_id_set(&w->id, crdp);
	pthread_mutex_lock(&known_lock);
	cds_list_add_tail(&w->node, &known_workers);
	pthread_mutex_unlock(&known_lock);
}

/* Under known_lock. */
static struct known_worker *known_find(struct call_rcu_data *crdp)
{
	struct known_worker *w;

	cds_list_for_each_entry(w, &known_workers, node)
		if (w->crdp == crdp)
			return w;
	return NULL;
}

/* liburcu handed crdp out as its default worker. Takes known_lock. */
static void known_saw_default(struct call_rcu_data *crdp)
{
	if (!crdp || CMM_LOAD_SHARED(known_default.crdp) == crdp)
		return;
	pthread_mutex_lock(&known_lock);
	if (known_default.crdp != crdp) {
		stall_id_set(&known_default.id, crdp);
		CMM_STORE_SHARED(known_default.crdp, crdp);
	}
	pthread_mutex_unlock(&known_lock);
}

/*
 * Around liburcu's free of crdp (NULL: every per-CPU worker): no probe
 * from the start, the pointer forgotten at the end. Take known_lock.
 */
static void known_free_begin(struct call_rcu_data *crdp, void *free_id)
{
	struct known_worker *w;
	struct call_rcu_data *c;
	long cpu;

	pthread_mutex_lock(&known_lock);
	for (cpu = crdp ? -1 : 0; cpu < (crdp ? 0 : ncpus); cpu++) {
		c = crdp ? crdp : get_cpu_call_rcu_data((int)cpu);
		w = c ? known_find(c) : NULL;
		if (w)
			w->freeing = free_id;
	}
	pthread_mutex_unlock(&known_lock);
}

static void known_free_end(void *free_id)
{
	struct known_worker *w, *tmp;

	pthread_mutex_lock(&known_lock);
	cds_list_for_each_entry_safe(w, tmp, &known_workers, node) {
		if (w->freeing != free_id)
			continue;
		w->crdp = NULL;
		known_release(w);
	}
	pthread_mutex_unlock(&known_lock);
}

/* fork() child, before call_rcu_after_fork_child(): none is the child's. */
static void known_forget(void)
{
	struct known_worker *w, *tmp;

	cds_list_for_each_entry_safe(w, tmp, &known_workers, node) {
		w->crdp = NULL;
		known_release(w);
	}
	known_default.crdp = NULL;
	known_default.id.tid = 0;
}

/*
 * The report: the known workers whose probe has not run. A probe still
 * pending for a worker freed since (or lost in a fork() child) sits on
 * the default worker now. Takes known_lock.
 */
static int known_stalls(struct urcu_compat_stall *out, int max, const struct timespec *began)
{
	struct known_worker *w;
	struct timespec moved = *began;
	int n = 0, dflt;

	pthread_mutex_lock(&known_lock);
	dflt = known_default.probe_pending;
	if (dflt)
		moved = known_default.probed;
	cds_list_for_each_entry(w, &known_workers, node) {
		if (!w->probe_pending)
			continue;
		if (w->crdp)
			stall_add(out, max, &n, w->id.cpu >= 0 ? URCU_COMPAT_WORKER_CPU :
				  URCU_COMPAT_WORKER_THREAD, &w->id, &w->probed, began);
		else if (!dflt++ || ts_before(&w->probed, &moved))
			moved = w->probed;
	}
	if (dflt && known_default.crdp)
		stall_add(out, max, &n, URCU_COMPAT_WORKER_DEFAULT, &known_default.id, &moved,
			  began);
	pthread_mutex_unlock(&known_lock);
	return n;
}

URCU_COMPAT_API struct call_rcu_data *urcu_compat_wrap_create_call_rcu_data(unsigned long flags,
								int cpu_affinity)
{
	struct call_rcu_data *crdp = create_call_rcu_data(flags, cpu_affinity);

	if (crdp)
		known_add(crdp);
	watch_created_worker(crdp);
	return crdp;
}

/*
 * The per-CPU workers this call created (not those that were there: code
 * without the header may free them behind the library's back).
 */
URCU_COMPAT_API int urcu_compat_wrap_create_all_cpu_call_rcu_data(unsigned long flags)
{
	/* Pointers only compared: void *, as clang-tidy prefers. */
	void **before = calloc((size_t)(ncpus > 0 ? ncpus : 1), sizeof(void *));
	struct call_rcu_data *crdp;
	long cpu, other;
	int ret;

	for (cpu = 0; before && cpu < ncpus; cpu++)
		before[cpu] = get_cpu_call_rcu_data((int)cpu);
	ret = create_all_cpu_call_rcu_data(flags);
	for (cpu = 0; before && cpu < ncpus; cpu++) {
		crdp = get_cpu_call_rcu_data((int)cpu);
		for (other = 0; crdp && other < ncpus; other++)
			if (before[other] == (void *)crdp)
				crdp = NULL;
		if (crdp && crdp != CMM_LOAD_SHARED(default_crdp)) {
			before[cpu] = crdp;	/* one record per worker */
			known_add(crdp);
		}
	}
	free(before);
	return ret;
}
#endif /* URCU_COMPAT_NATIVE_BARRIER */
