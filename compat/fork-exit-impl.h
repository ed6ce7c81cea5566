/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fork-exit-impl.h - the fork hooks (liburcu's, routed here, and the atfork
 * handlers), the exit barriers and what keeps the default worker at an
 * exit that gave up, the constructor and the destructor. Part of
 * urcu-compat.c (see the design there).
 */

/* The exit's drain of the library's worker ran (stop_lib_worker()). */
static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exit_cond;

URCU_COMPAT_API void urcu_compat_wrap_call_rcu_before_fork(void)
{
	gate_enter(1);
	call_rcu_before_fork();
}

URCU_COMPAT_API void urcu_compat_wrap_call_rcu_after_fork_parent(void)
{
	call_rcu_after_fork_parent();
	gate_leave(1);
}

URCU_COMPAT_API void urcu_compat_wrap_call_rcu_after_fork_child(void)
{
	int had;

	gate_leave(1);	/* reset by the atfork handler already */
	had = mode_forget_workers();
	call_rcu_after_fork_child();	/* frees the library's worker too */
	fast_path_after_fork_child();
	mode_after_fork_child(had);
	CMM_STORE_SHARED(workers_lost_in_child, 0);
	route_close(ROUTE_LOST, 0);	/* a new one is made when needed */
}

/* Takes the mode's lock, then probe_lock, held across fork(). */
static void atfork_prepare(void)
{
	mode_fork_prepare();
	workers_at_fork = mode_may_have_workers();
	pthread_mutex_lock(&probe_lock);
}

/* Releases probe_lock, then the mode's lock. */
static void atfork_parent(void)
{
	pthread_mutex_unlock(&probe_lock);
	mode_fork_parent();
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
	exit_cond = fallback;
	mode_conds_fallback(&fallback);
}

/* The only thread: makes every lock anew, takes none. */
static void atfork_child(void)
{
	gate_reset();
	stops_reset();
	init_mutex(&probe_lock);
	init_cond(&probe_cond);
	forget_early_watches();
	init_mutex(&exit_lock);
	init_cond(&exit_cond);
	mode_fork_child();
	settle_conds();
	fast_path_fork_child();
	CMM_STORE_SHARED(workers_lost_in_child, workers_at_fork || liburcu_has_workers());
	route_fork_child(workers_lost_in_child);
}

static unsigned int exit_count = 1, exit_timeout_ms = 1000;

/*
 * With the exit barriers off, the library cannot know at exit that its
 * worker has nothing left to run, so it never stops it: the route is
 * closed meanwhile, and call_rcu() goes to liburcu's default worker, as
 * without the library.
 */
URCU_COMPAT_API void urcu_compat_set_exit_barriers(unsigned int count, unsigned int timeout_ms)
{
	uatomic_set(&exit_count, count);
	uatomic_set(&exit_timeout_ms, timeout_ms);
	route_close(ROUTE_BARRIERS_OFF, count == 0);
}

static void urcu_compat_exit(void);
static int exit_handler_registered;

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
	stall_init();
	init_cond(&exit_cond);
	mode_init();
	settle_conds();
	watch_key();	/* the only thread: probe_lock not needed */
	if (JOINING_RELEASE_HINT())
		join_policy = JOIN_BY_LIBURCU;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* Without it, the destructor runs urcu_compat_exit(). */
	exit_handler_registered = !atexit(urcu_compat_exit);
}

/* Does nothing: queued and never run, it keeps a worker's queue non-empty. */
static void never_run_cb(struct rcu_head *head)
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

/*
 * A fork() child without its workers, at exit: liburcu 0.12.5, 0.13.3+
 * stop the default worker at exit when its queue is empty, and join a
 * thread that only existed in the parent. A callback left in its queue
 * makes liburcu keep it. Possible only for a default worker the library
 * knows of.
 */
static void keep_lost_default_worker(void)
{
	static struct rcu_head keep;
	struct call_rcu_data *crdp = CMM_LOAD_SHARED(default_crdp);

	if (crdp && call_rcu_locks_nothing())
		enqueue_on(crdp, &keep, never_run_cb);
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
	int made, was_online, ms;
	struct call_rcu_data *crdp = mode_default_worker_at_exit(&made);

	if (!crdp)
		return;
	enqueue_on(crdp, &exit_keep[0], exit_keep_cb);
	if (!made)
		return;
	was_online = qsbr_offline_to_wait();
	for (ms = 0; ms < KEEP_SETTLE_MS && !uatomic_read(&exit_keep_ran); ms++)
		poll(NULL, 0, 1);
	qsbr_online_after_wait(was_online);
	if (!uatomic_read(&exit_keep_ran))
		enqueue_on(crdp, &exit_keep[1], exit_keep_cb);
}

/*
 * The library's worker at exit, the route closed and an exit barrier done:
 * every call_rcu() that read the route before it closed has queued its
 * callback (a barrier's rendezvous runs after a grace period that started
 * after the route closed, and each of those calls holds the RCU read lock
 * until queued). A marker queued now follows them all: once it ran within
 * timeout_ms, liburcu's free finds nothing to move to its default worker,
 * and the worker is stopped and its thread joined exactly once
 * (free_and_join(), the stop of urcu_compat_call_rcu_data_free()). A
 * worker that does not run the marker in time (stuck in a callback) is
 * left alone. Only a callback that another callback queued on it behind
 * the marker and that never returns could still hold the stop.
 */
static struct rcu_head exit_drain_head;
static int exit_drained;

static void exit_drain_cb(struct rcu_head *head)
{
	(void)head;
	pthread_mutex_lock(&exit_lock);
	exit_drained = 1;
	pthread_cond_broadcast(&exit_cond);
	pthread_mutex_unlock(&exit_lock);
}

/* Takes exit_lock, waits on exit_cond with it (offline for QSBR). */
static void stop_lib_worker(struct call_rcu_data *crdp, unsigned int timeout_ms)
{
	struct timespec deadline;
	int drained;

	deadline_in(&deadline, timeout_ms);
	enqueue_on(crdp, &exit_drain_head, exit_drain_cb);
	pthread_mutex_lock(&exit_lock);
	while (!exit_drained && !wait_offline(&exit_cond, &exit_lock, &deadline))
		;
	drained = exit_drained;
	pthread_mutex_unlock(&exit_lock);
	if (!drained)
		return;
	free_and_join(crdp);
	route_forget_worker();
}

/*
 * Run by the destructor and by an atexit() handler, whichever comes
 * first. In a shared library both run with its destructors, before
 * liburcu's. A static program runs its atexit() handlers before every
 * destructor, and there liburcu's destructor, which may free the default
 * worker, runs before this library's. So the library's worker is stopped
 * only where the handler was registered (atexit() can fail without
 * memory): from the destructor of a static program, liburcu may be torn
 * down already.
 *
 * The route is closed first; then the exit barriers; then the library's
 * worker is stopped if they all completed. When one gave up or could not
 * run (exit() from a callback or inside a read-side critical section, a
 * fork() child without its workers), or none ran (turned off), the
 * worker is left as it is, like liburcu 0.7 - 0.13.2's default worker.
 */
static void urcu_compat_exit(void)
{
	static int done;
	unsigned int i, count = uatomic_read(&exit_count);
	unsigned int timeout_ms = uatomic_read(&exit_timeout_ms);
	struct call_rcu_data *lib;
	int ret = 0;

	if (uatomic_xchg(&done, 1))
		return;
	lib = route_close_for_exit();
	if (CMM_LOAD_SHARED(workers_lost_in_child)) {
		keep_lost_default_worker();
		return;
	}
	/* An exit barrier that would not wait costs a worker cycle: skipped. */
	for (i = 0; i < count && !ret && !mode_nothing_queued(); i++)
		ret = urcu_compat_barrier_timeout(timeout_ms);
	if (ret == -ETIMEDOUT)
		stall_exit_line(timeout_ms);	/* URCU_COMPAT_DEBUG=stall */
	mode_exit();
	if (ret)
		keep_default_worker();
	else if (lib && count && exit_handler_registered)
		stop_lib_worker(lib, timeout_ms);
}

static void __attribute__((destructor)) urcu_compat_fini(void)
{
	urcu_compat_exit();
}
