/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * route-impl.h - where call_rcu() made through the header goes (both modes),
 * and the library's call_rcu worker. Part of urcu-compat.c (see the design
 * there).
 *
 * The header's call_rcu() calls liburcu's at once when the thread has a
 * worker of its own or every CPU has its worker (URCU_COMPAT_FAST_* and
 * urcu_compat_thread_has_worker). Otherwise urcu_compat_call_rcu_route()
 * decides, under the RCU read lock: a thread with a worker of its own
 * (set without the header) or a CPU with its worker keep liburcu's
 * choice; everything else, which liburcu would give to its default
 * worker, goes to the library's worker instead, for that one call
 * (enqueue_on()): the thread's call_rcu data is never left pointing at
 * it. The library's worker is made the first time it is needed, and is
 * stopped and joined at exit (fork-exit-impl.h), where liburcu 0.7 -
 * 0.13.2 never stop their default worker. While the route is closed
 * (exit barriers off, exit under way, a fork() child that lost its
 * workers, the worker could not be made) calls go to liburcu's default
 * worker, as without the library.
 */

URCU_COMPAT_API int urcu_compat_call_rcu_fast;
URCU_COMPAT_API __thread int urcu_compat_thread_has_worker;

/*
 * The library's worker: route_crdp is what urcu_compat_call_rcu_route()
 * reads (RCU-protected; NULL while the route is closed), lib_crdp the
 * worker the library owns (under route_lock), route_closed why the route
 * is closed (ROUTE_*; 0: open).
 */
#define ROUTE_BARRIERS_OFF	1	/* urcu_compat_set_exit_barriers(0, ...) */
#define ROUTE_LOST		2	/* fork() child before call_rcu_after_fork_child() */
#define ROUTE_EXIT		4	/* urcu_compat_exit() started */
#define ROUTE_FAILED		8	/* the worker could not be made */
#define ROUTE_NOT_ASKED		16	/* urcu_compat_set_library_worker(1) not called */

static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static struct call_rcu_data *route_crdp;
static struct call_rcu_data *lib_crdp;
static int route_closed = ROUTE_NOT_ASKED;

/*
 * The library's worker, which only the library stops: a callback that runs
 * on it sees it as its thread's call_rcu data, and code that frees that
 * is ignored, as for the default worker. Takes route_lock.
 */
static int is_library_worker(struct call_rcu_data *crdp)
{
	int mine;

	if (!crdp)
		return 0;
	pthread_mutex_lock(&route_lock);
	mine = crdp == lib_crdp;
	pthread_mutex_unlock(&route_lock);
	return mine;
}

/* Publish lib_crdp for the route, or NULL when it is closed. Under route_lock. */
static void route_publish(void)
{
	rcu_set_pointer(&route_crdp, route_closed ? NULL : lib_crdp);
}

/*
 * Close (or reopen) the route for reason. Once it is open again, calls
 * stop going to liburcu's default worker directly. Takes route_lock.
 */
static void route_close(int reason, int close)
{
	pthread_mutex_lock(&route_lock);
	if (close)
		route_closed |= reason;
	else
		route_closed &= ~reason;
	if (!route_closed)
		uatomic_and(&urcu_compat_call_rcu_fast, ~URCU_COMPAT_FAST_DEFAULT);
	route_publish();
	pthread_mutex_unlock(&route_lock);
}

/*
 * The route is closed and the mode knows that calls go to liburcu's
 * default worker: they may go there without the route. Takes route_lock.
 */
static void route_direct_to_default(void)
{
	pthread_mutex_lock(&route_lock);
	if (route_closed)
		uatomic_or(&urcu_compat_call_rcu_fast, URCU_COMPAT_FAST_DEFAULT);
	pthread_mutex_unlock(&route_lock);
}

URCU_COMPAT_API void urcu_compat_set_library_worker(int on)
{
	route_close(ROUTE_NOT_ASKED, !on);
}

/*
 * Make the library's worker unless the route is closed or it exists.
 * Takes route_lock; the mode's create takes its own locks, and no RCU
 * read lock is held.
 */
static void route_make_worker(void)
{
	static int warned;
	struct call_rcu_data *made = NULL;

	pthread_mutex_lock(&route_lock);
	if (!route_closed && !lib_crdp) {
		lib_crdp = made = mode_create_worker();
		if (!lib_crdp) {
			route_closed |= ROUTE_FAILED;
			warn_once(&warned, "cannot make the library's call_rcu worker; "
				  "call_rcu() goes to liburcu's default worker.");
		}
		route_publish();
	}
	pthread_mutex_unlock(&route_lock);
	/* Its stop at exit then waits for no watch of its own. */
	watch_created_worker(made);
}

/*
 * At exit: close the route for good; return the library's worker, which
 * the caller stops (or leaves), NULL if there is none. Takes route_lock.
 */
static struct call_rcu_data *route_close_for_exit(void)
{
	struct call_rcu_data *crdp;

	pthread_mutex_lock(&route_lock);
	route_closed |= ROUTE_EXIT;
	route_publish();
	crdp = lib_crdp;
	pthread_mutex_unlock(&route_lock);
	return crdp;
}

/* At exit, once the library's worker is stopped. Takes route_lock. */
static void route_forget_worker(void)
{
	pthread_mutex_lock(&route_lock);
	lib_crdp = NULL;
	route_publish();
	pthread_mutex_unlock(&route_lock);
}

/*
 * fork() child (the only thread): the library's worker is gone, its
 * thread with the parent. Without liburcu's hooks it is forgotten, never
 * stopped nor joined, and the route stays closed (a new worker would take
 * liburcu's mutex, which another thread of the parent may have held)
 * until call_rcu_after_fork_child(), which frees it.
 */
static void route_fork_child(int lost)
{
	init_mutex(&route_lock);
	lib_crdp = NULL;
	if (lost)
		route_closed |= ROUTE_LOST;
	route_publish();
}

/*
 * URCU_COMPAT_FAST_CPU_WORKERS may be set only while every CPU has its
 * worker. A detach of per-CPU workers through the header counts itself in
 * cpu_detaches and clears the bit, under fast_path_lock, before it
 * detaches anything, and stops counting only once liburcu has detached
 * them; urcu_compat_call_rcu_route() sets the bit under fast_path_lock,
 * when no detach is counted and every CPU still has its worker. So no
 * interleaving leaves the bit set once a CPU lost its worker through the
 * header.
 *
 * fast_path_asked: the bit was set once, so calls may be on their way to
 * a per-CPU worker without the route. A detach makes that CPU's calls go
 * to liburcu's default worker, including calls in flight that took the
 * bit a moment before: the mode is told then (mode_route_to_default()).
 */
static pthread_mutex_t fast_path_lock = PTHREAD_MUTEX_INITIALIZER;
static int cpu_detaches, fast_path_asked;

/* Has every CPU its worker? Under the RCU read lock. */
static int every_cpu_has_worker(void)
{
	long cpu;

	for (cpu = 0; cpu < ncpus; cpu++)
		if (!get_cpu_call_rcu_data((int)cpu))
			return 0;
	return ncpus > 0;
}

/* Takes fast_path_lock, then the RCU read lock. */
static void set_fast_path_cpus(void)
{
	pthread_mutex_lock(&fast_path_lock);
	rcu_read_lock();
	if (!cpu_detaches && every_cpu_has_worker()) {
		uatomic_set(&fast_path_asked, 1);
		cmm_smp_mb();	/* fast_path_asked before the bit: see cpu_detach_end() */
		uatomic_or(&urcu_compat_call_rcu_fast, URCU_COMPAT_FAST_CPU_WORKERS);
	}
	rcu_read_unlock();
	pthread_mutex_unlock(&fast_path_lock);
}

/* Calls may take the per-CPU bit to a CPU without its worker. No lock held. */
static void note_default_if_asked(void)
{
	cmm_smp_mb();	/* the caller's stores come before the read of fast_path_asked */
	if (uatomic_read(&fast_path_asked))
		mode_route_to_default();
}

/* Takes fast_path_lock; no lock held. */
static void cpu_detach_begin(void)
{
	pthread_mutex_lock(&fast_path_lock);
	cpu_detaches++;
	uatomic_and(&urcu_compat_call_rcu_fast, ~URCU_COMPAT_FAST_CPU_WORKERS);
	pthread_mutex_unlock(&fast_path_lock);
	/*
	 * A call_rcu() that took the bit before it was cleared may find its
	 * CPU's worker gone: the mode knows before any worker is detached.
	 */
	note_default_if_asked();
}

/* Takes fast_path_lock; no lock held. */
static void cpu_detach_end(void)
{
	note_default_if_asked();
	pthread_mutex_lock(&fast_path_lock);
	cpu_detaches--;
	pthread_mutex_unlock(&fast_path_lock);
}

/* fork() child (the only thread): no detach is in progress. */
static void fast_path_fork_child(void)
{
	init_mutex(&fast_path_lock);
	cpu_detaches = 0;
}

/*
 * After call_rcu_after_fork_child(): liburcu dropped the per-CPU workers
 * and this thread's own, and made a new default worker.
 */
static void fast_path_after_fork_child(void)
{
	uatomic_set(&urcu_compat_call_rcu_fast, 0);
	urcu_compat_thread_has_worker = 0;
}

/*
 * The per-CPU worker of the CPU this thread runs on, NULL if none. Under
 * the RCU read lock.
 */
static struct call_rcu_data *cpu_worker_here(void)
{
	int cpu = sched_getcpu();

	if (cpu < 0 || cpu >= ncpus)
		return NULL;
	return get_cpu_call_rcu_data(cpu);
}

/*
 * call_rcu() from a thread without a worker of its own (as far as the
 * header knows) when not every CPU is known to have its worker.
 */
URCU_COMPAT_API void urcu_compat_call_rcu_route(struct rcu_head *head,
						void (*func)(struct rcu_head *head))
{
	struct call_rcu_data *crdp;
	int cpu_worker;

	if (caa_unlikely(get_thread_call_rcu_data() != NULL)) {
		/* Set without the header: liburcu's choice. */
		urcu_compat_thread_has_worker = 1;
		call_rcu(head, func);
		return;
	}
	for (;;) {
		rcu_read_lock();
		crdp = cpu_worker_here();
		cpu_worker = crdp != NULL;
		if (!crdp)
			crdp = rcu_dereference(route_crdp);
		if (caa_likely(crdp) || CMM_LOAD_SHARED(route_closed))
			break;
		rcu_read_unlock();
		route_make_worker();
	}
	if (caa_likely(crdp)) {
		/*
		 * On this worker, not on the one liburcu would look up after a
		 * migration; the read lock keeps both alive until queued.
		 */
		set_thread_call_rcu_data(crdp);
		call_rcu(head, func);
		set_thread_call_rcu_data(NULL);
		rcu_read_unlock();
		if (caa_unlikely(cpu_worker) && !CMM_LOAD_SHARED(cpu_detaches)) {
			rcu_read_lock();
			cpu_worker = every_cpu_has_worker();
			rcu_read_unlock();
			if (cpu_worker)
				set_fast_path_cpus();
		}
		return;
	}
	rcu_read_unlock();
	/* The route is closed: liburcu's default worker, from now on directly. */
	mode_route_to_default();
	route_direct_to_default();
	call_rcu(head, func);
}

URCU_COMPAT_API void urcu_compat_wrap_set_thread_call_rcu_data(struct call_rcu_data *crdp)
{
	set_thread_call_rcu_data(crdp);
	urcu_compat_thread_has_worker = crdp != NULL;
}

URCU_COMPAT_API int urcu_compat_wrap_set_cpu_call_rcu_data(int cpu, struct call_rcu_data *crdp)
{
	int ret;

	if (crdp)
		return set_cpu_call_rcu_data(cpu, crdp);
	cpu_detach_begin();
	ret = mode_detach_cpu_worker(cpu);
	cpu_detach_end();
	return ret;
}
