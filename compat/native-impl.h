/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * native-impl.h - the native mode (liburcu 0.8+): liburcu's own rcu_barrier(),
 * and a helper thread that runs it for bounded barriers. Part of
 * urcu-compat.c (see the design there); implements mode.h.
 */
#if URCU_COMPAT_NATIVE_BARRIER

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
/* The most recent bounded barrier that gave up: its run, when it began. */
static unsigned long stall_target;
static struct timespec stall_began;
static int stall_known;

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
static int mode_may_have_workers(void)
{
	return thread_count() != 1;
}

/* The helper thread: takes runner_lock, released while rcu_barrier() runs. */
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
		known_probe_all();	/* ahead of liburcu's callbacks */
		rcu_barrier();
		pthread_mutex_lock(&runner_lock);
		runner_busy = 0;
		runner_served = gen;
		pthread_cond_broadcast(&runner_done);
	}
	pthread_mutex_unlock(&runner_lock);
	return NULL;
}

/* Takes runner_lock for a bounded barrier, and waits on runner_done with it. */
static int mode_barrier(const struct timespec *deadline, const struct timespec *began)
{
	unsigned long target;
	int ret = 0, rc;

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
		if (wait_offline(&runner_done, &runner_lock, deadline) &&
		    seq_before(runner_served, target)) {
			ret = -ETIMEDOUT;
			stall_target = target;
			stall_began = *began;
			stall_known = 1;
			break;
		}
	}
	pthread_mutex_unlock(&runner_lock);
	return ret;
}

/* liburcu's workers cannot be seen: an exit barrier always runs. */
static int mode_nothing_queued(void)
{
	return 0;
}

/* Takes runner_lock; joins the helper thread after releasing it. */
static void mode_exit(void)
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

/* Native mode queues each exit watch at the worker's creation. */
static void mode_watch_worker(struct call_rcu_data *crdp, struct exit_watch *p)
{
	(void)crdp;
	(void)p;
}

/* Takes known_lock. */
static void mode_saw_default_worker(struct call_rcu_data *crdp)
{
	CMM_STORE_SHARED(default_crdp, crdp);
	known_saw_default(crdp);
}

/* Takes known_lock, not across liburcu's free. */
static void mode_free_worker(struct call_rcu_data *crdp)
{
	int free_id;

	known_free_begin(crdp, &free_id);
	gated_call_rcu_data_free(crdp);	/* liburcu moves its callbacks */
	known_free_end(&free_id);
}

/* Takes fast_path_lock, then known_lock (not across liburcu's free), then passes the gate. */
static void mode_free_all_cpu_workers(void)
{
	int free_id;

	cpu_detach_begin();
	known_free_begin(NULL, &free_id);
	gated_free_all_cpu_call_rcu_data();
	known_free_end(&free_id);
	cpu_detach_end();
}

/* liburcu's rcu_barrier() covers every worker: nothing to note. */
static void mode_route_to_default(void)
{
}

/* Between cpu_detach_begin() and cpu_detach_end() (route-impl.h). */
static int mode_detach_cpu_worker(int cpu)
{
	return set_cpu_call_rcu_data(cpu, NULL);
}

/* The library's worker: known to the stall report like one made through the header. */
static struct call_rcu_data *mode_create_worker(void)
{
	struct call_rcu_data *crdp = create_call_rcu_data(0, -1);

	if (crdp)
		known_add(crdp);
	return crdp;
}

/* Takes runner_lock, then known_lock, both held across fork(). */
static void mode_fork_prepare(void)
{
	pthread_mutex_lock(&runner_lock);
	pthread_mutex_lock(&known_lock);
}

/* Releases known_lock, then runner_lock. */
static void mode_fork_parent(void)
{
	pthread_mutex_unlock(&known_lock);
	pthread_mutex_unlock(&runner_lock);
}

/* No helper thread: no barrier of its runs is outstanding. */
static void mode_fork_child(void)
{
	init_mutex(&runner_lock);
	init_mutex(&known_lock);
	init_cond(&runner_wake);
	init_cond(&runner_done);
	runner_started = runner_busy = runner_stop = 0;
	runner_req = runner_served = 0;
	stall_known = 0;
}

/* The only thread: the known workers were the parent's. */
static int mode_forget_workers(void)
{
	known_forget();
	return 0;
}

/*
 * The known workers whose probe has not run, while the run that the most
 * recent barrier that gave up waited for has not ended. Takes runner_lock,
 * then known_lock, one at a time.
 */
static int mode_stalls(struct urcu_compat_stall *out, int max)
{
	struct timespec began;
	int outstanding;

	pthread_mutex_lock(&runner_lock);
	outstanding = stall_known && seq_before(runner_served, stall_target);
	began = stall_began;
	pthread_mutex_unlock(&runner_lock);
	return outstanding ? known_stalls(out, max, &began) : 0;
}

static void mode_after_fork_child(int had)
{
	(void)had;
	/* liburcu replaced its default worker. */
	CMM_STORE_SHARED(default_crdp, NULL);
}

static void mode_init(void)
{
	init_cond(&runner_wake);
	init_cond(&runner_done);
}

static void mode_conds_fallback(const pthread_cond_t *fallback)
{
	runner_wake = *fallback;
	runner_done = *fallback;
}

/*
 * liburcu's default worker, asked for: native mode cannot know it
 * otherwise, and asking makes one when there was none (*made).
 */
static struct call_rcu_data *mode_default_worker_at_exit(int *made)
{
	struct call_rcu_data *crdp = CMM_LOAD_SHARED(default_crdp);
	int threads;

	*made = 0;
	if (crdp)
		return crdp;
	threads = thread_count();
	crdp = get_default_call_rcu_data();
	*made = threads < 0 || thread_count() != threads;
	return crdp;
}

#endif /* URCU_COMPAT_NATIVE_BARRIER */
