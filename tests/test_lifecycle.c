/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Worker lifecycle: urcu_compat_call_rcu_data_free() joins each worker's
 * thread exactly once whoever does it (liburcu or the library), exit
 * barriers run queued and chained callbacks before the process ends, and
 * exit never hangs: fork() child
 * without liburcu's handlers, callback blocked forever, exit from a
 * callback or a read-side critical section.
 *
 * Every join made in this process, by liburcu, by the library or by the
 * test, is logged by the harness's pthread_join() interposer.
 *
 * Exit is observed from a parent process. Scenarios that need a process
 * of their own (exit barriers, blocked callbacks, exit from a callback or
 * a read-side critical section, a fork() before any RCU use) run in a
 * fresh copy of this executable, started with fork() + exec() and
 * "--scenario NAME FD"; they report through a shared page on FD and
 * their exit status. A fork() child without liburcu's handlers is a
 * fork() of the test process (run_in_child()), since what it inherits is
 * the point. Children call exit() or return from main(), never _exit(),
 * so that the destructors run. A child that would hang is left to the
 * watchdog or the test timeout: nothing here measures time in an
 * assertion. cmocka
 * asserts are made in the test process's main thread only.
 */
#include "common.h"

#include <limits.h>
#include <sched.h>
#include <sys/mman.h>

/* ---------------------------------------------------------------- */
/* Helpers                                                            */
/* ---------------------------------------------------------------- */

/*
 * Seen from inside a worker: it plants a thread-specific value whose
 * destructor runs as that thread exits.
 */
static pthread_key_t exit_key;

struct exit_watch {
	struct rcu_head head;
	struct call_rcu_data *crdp;
	struct gate planted;
	int mine;	/* the callback ran on crdp's own thread */
	int exited;	/* that thread ran its TSD destructors */
};

static void exit_watch_destructor(void *arg)
{
	struct exit_watch *w = arg;

	uatomic_set(&w->exited, 1);
}

static void plant_exit_watch(struct rcu_head *head)
{
	struct exit_watch *w = caa_container_of(head, struct exit_watch, head);

	w->mine = get_thread_call_rcu_data() == w->crdp &&
		pthread_equal(get_call_rcu_thread(w->crdp), pthread_self()) &&
		pthread_setspecific(exit_key, w) == 0;
	gate_mark_entered(&w->planted);
}

/* Plant w in crdp's thread; returns once the callback has run. */
static void plant_watch(struct exit_watch *w, struct call_rcu_data *crdp)
{
	struct call_rcu_data *saved = get_thread_call_rcu_data();

	memset(w, 0, sizeof(*w));
	gate_init(&w->planted);
	w->crdp = crdp;
	set_thread_call_rcu_data(crdp);
	call_rcu(&w->head, plant_exit_watch);
	set_thread_call_rcu_data(saved);
	gate_wait_entered(&w->planted);
}

/*
 * A worker of this thread's own, with the watch planted in its thread
 * and some callbacks still queued on it.
 */
static struct call_rcu_data *start_watched_worker(struct exit_watch *w,
						  unsigned long *ran, int queued)
{
	struct call_rcu_data *crdp = create_call_rcu_data(0, -1);
	int i;

	assert_non_null(crdp);
	plant_watch(w, crdp);
	set_thread_call_rcu_data(crdp);
	for (i = 0; i < queued; i++)
		queue_counted(ran);
	set_thread_call_rcu_data(NULL);
	return crdp;
}


/* ---------------------------------------------------------------- */
/* 1. urcu_compat_call_rcu_data_free(): exactly one join               */
/* ---------------------------------------------------------------- */

/*
 * Free one watched worker; check its thread had exited and was joined
 * exactly once, successfully, and nothing else was joined. Returns the
 * time the free took (printed, never asserted).
 */
static double free_and_check_one_join(void)
{
	struct exit_watch watch;
	struct call_rcu_data *crdp;
	unsigned long ran = 0;
	unsigned int mark;
	pthread_t tid;
	double t0, ms;
	int ret = JOIN_RUNNING;

	crdp = start_watched_worker(&watch, &ran, 50);
	assert_true(watch.mine);
	tid = get_call_rcu_thread(crdp);
	synchronize_rcu();

	mark = join_mark();
	t0 = harness_now_ms();
	urcu_compat_call_rcu_data_free(crdp);
	ms = harness_now_ms() - t0;

	assert_online_again();
	/* The thread has exited and was joined once, by liburcu or by the library. */
	assert_int_equal(uatomic_read(&watch.exited), 1);
	assert_int_equal(joins_of_since(tid, mark, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(joins_since(mark), 1);
	/* Its callbacks were not lost: run here or moved to the default worker. */
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 50);
	/* Nobody joined it again afterwards. */
	assert_int_equal(joins_of_since(tid, mark, NULL), 1);
	return ms;
}

#define FREES_IN_A_ROW 4

static void test_free_joins_each_worker_once(void **state)
{
	double ms[FREES_IN_A_ROW];
	int i;

	(void)state;
	/* The first free finds out what liburcu does; the others reuse it. */
	for (i = 0; i < FREES_IN_A_ROW; i++)
		ms[i] = free_and_check_one_join();
	printf("# urcu_compat_call_rcu_data_free: first %.2f ms (finds out whether liburcu joins), then",
	       ms[0]);
	for (i = 1; i < FREES_IN_A_ROW; i++)
		printf(" %.2f", ms[i]);
	printf(" ms\n");
}

/* Several threads free their own workers at the same time. */
#define CONCURRENT_FREES 4

struct freer {
	struct exit_watch watch;
	unsigned long ran;
	pthread_t worker_tid;
	pthread_barrier_t *all_started;
	int failed;	/* no cmocka outside the main thread */
};

static void *freer_thread(void *p)
{
	struct freer *f = p;
	struct call_rcu_data *crdp;
	int i;

	rcu_register_thread();
	crdp = create_call_rcu_data(0, -1);
	if (crdp) {
		plant_watch(&f->watch, crdp);
		f->worker_tid = get_call_rcu_thread(crdp);
		set_thread_call_rcu_data(crdp);
		for (i = 0; i < 20; i++)
			if (try_queue_counted(&f->ran, 1))
				f->failed = 1;
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
	} else {
		f->failed = 1;
	}
	/* Every worker exists before any is freed: their pthread_t differ. */
	test_offline();
	pthread_barrier_wait(f->all_started);
	test_online();
	urcu_compat_call_rcu_data_free(crdp);
	rcu_unregister_thread();
	return NULL;
}

static void test_free_from_many_threads_at_once(void **state)
{
	struct freer freers[CONCURRENT_FREES];
	pthread_barrier_t all_started;
	unsigned int mark;
	int i, ret;

	(void)state;
	memset(freers, 0, sizeof(freers));
	assert_int_equal(pthread_barrier_init(&all_started, NULL, CONCURRENT_FREES), 0);
	for (i = 0; i < CONCURRENT_FREES; i++)
		freers[i].all_started = &all_started;
	mark = join_mark();
	run_threads(CONCURRENT_FREES, freer_thread, freers, sizeof(freers[0]));
	for (i = 0; i < CONCURRENT_FREES; i++) {
		assert_false(freers[i].failed);
		assert_true(freers[i].watch.mine);
		assert_int_equal(uatomic_read(&freers[i].watch.exited), 1);
		ret = JOIN_RUNNING;
		assert_int_equal(joins_of_since(freers[i].worker_tid, mark, &ret), 1);
		assert_int_equal(ret, 0);
	}
	/* The workers, and the freeing threads joined by run_threads(). */
	assert_int_equal(joins_since(mark), 2 * CONCURRENT_FREES);
	assert_int_equal(urcu_compat_barrier(), 0);
	for (i = 0; i < CONCURRENT_FREES; i++)
		assert_int_equal(uatomic_read(&freers[i].ran), 20);
	pthread_barrier_destroy(&all_started);
}

/*
 * Callbacks that count where they ran: on the worker under test, or
 * elsewhere (liburcu moved them to its default worker).
 */
static pthread_t where_worker;
static unsigned long where_total, where_on_worker;

static void where_cb(struct rcu_head *head)
{
	if (pthread_equal(pthread_self(), where_worker))
		uatomic_inc(&where_on_worker);
	uatomic_inc(&where_total);
	free(head);
}

static void queue_where(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct rcu_head *head = calloc(1, sizeof(*head));

		assert_non_null(head);
		call_rcu(head, where_cb);
	}
}

/* A new worker for this thread, whose callbacks queue_where() counts. */
static struct call_rcu_data *start_where_worker(void)
{
	struct call_rcu_data *crdp = create_call_rcu_data(0, -1);

	assert_non_null(crdp);
	where_worker = get_call_rcu_thread(crdp);
	uatomic_set(&where_total, 0);
	uatomic_set(&where_on_worker, 0);
	set_thread_call_rcu_data(crdp);
	return crdp;
}

/* Stop crdp: its thread tid joined once, successfully, and nothing else. */
static void stop_expecting_one_join(struct call_rcu_data *crdp, pthread_t tid)
{
	unsigned int mark = join_mark();
	int ret = JOIN_RUNNING;

	urcu_compat_call_rcu_data_free(crdp);
	assert_int_equal(joins_of_since(tid, mark, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(joins_since(mark), 1);
}

struct stopper {
	struct call_rcu_data *crdp;
	pid_t tid;
	struct gate started;
};

static void *stopper_thread(void *arg)
{
	struct stopper *s = arg;

	rcu_register_thread();
	uatomic_set(&s->tid, harness_gettid());
	gate_mark_entered(&s->started);
	urcu_compat_call_rcu_data_free(s->crdp);
	rcu_unregister_thread();
	return NULL;
}

/*
 * The stop of a worker that has callbacks queued after the last barrier,
 * arriving while the worker is busy with a batch (blocked in a callback
 * until the stopping thread sleeps: on the drain, or in liburcu's free).
 * A stop that took the queue for empty lets liburcu stop the worker at
 * the end of that batch and move the later callbacks to its default
 * worker; the emulation runs them on the worker itself. Every release:
 * one join, every callback run.
 */
static void test_free_of_busy_worker_with_callbacks_after_barrier(void **state)
{
	static struct gated busy;
	struct stopper s;
	struct call_rcu_data *crdp;
	unsigned long passed = 0;
	unsigned int mark;
	pthread_t stopper;
	int ret = JOIN_RUNNING;

	(void)state;
	crdp = start_where_worker();
	queue_where(5);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&where_total), 5);
	block_worker_on(&busy, &passed);	/* the worker is in a batch */
	queue_where(10);			/* after the barrier, behind it */
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();

	memset(&s, 0, sizeof(s));
	s.crdp = crdp;
	gate_init(&s.started);
	mark = join_mark();
	assert_int_equal(pthread_create(&stopper, NULL, stopper_thread, &s), 0);
	gate_wait_entered(&s.started);
	test_offline();	/* QSBR: the worker's grace periods go on meanwhile */
	ret = harness_wait_asleep(uatomic_read(&s.tid));
	gate_open(&busy.gate);
	pthread_join(stopper, NULL);
	test_online();
	assert_int_equal(ret, 0);
	ret = JOIN_RUNNING;

	assert_int_equal(joins_of_since(where_worker, mark, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(uatomic_read(&passed), 1);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&where_total), 15);
	if (!URCU_COMPAT_NATIVE_BARRIER)	/* liburcu's free moves them otherwise */
		assert_int_equal(uatomic_read(&where_on_worker), 15);
}

/*
 * A stop right after a barrier with nothing queued since (the emulation
 * proves the queue empty and skips its drain), then one with callbacks
 * queued after the barrier, then barriers: one join each, nothing lost,
 * nothing run elsewhere in the emulation.
 */
static void test_free_after_barrier_with_and_without_later_callbacks(void **state)
{
	struct call_rcu_data *crdp;
	int later;

	(void)state;
	for (later = 0; later <= 1; later++) {
		crdp = start_where_worker();
		queue_where(10);
		assert_int_equal(urcu_compat_barrier(), 0);
		if (later)
			queue_where(10);
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		stop_expecting_one_join(crdp, where_worker);
		assert_int_equal(urcu_compat_barrier(), 0);
		assert_int_equal(uatomic_read(&where_total), 10 + 10 * later);
		if (!URCU_COMPAT_NATIVE_BARRIER)
			assert_int_equal(uatomic_read(&where_on_worker), 10 + 10 * later);
	}
}

/*
 * A worker made by code without the header: the library never saw it
 * created, so its stop plants the exit watch itself. One join, nothing
 * lost.
 */
static void test_free_of_worker_made_without_header(void **state)
{
	struct call_rcu_data *crdp;
	unsigned long ran = 0;
	pthread_t tid;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		crdp = create_worker_without_header();
		assert_non_null(crdp);
		tid = get_call_rcu_thread(crdp);
		set_thread_call_rcu_data(crdp);
		queue_counted(&ran);
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		stop_expecting_one_join(crdp, tid);
	}
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 2);
}

/*
 * NULL and the default worker: nothing happens, at once, as with
 * liburcu's call_rcu_data_free(), before and after the library found out
 * whether liburcu joins (the first real stop). The default worker's
 * thread never exits, so a join of it would never return: the
 * interposer logs it and refuses it.
 */
static void test_free_ignores_null_and_default_worker(void **state)
{
	struct call_rcu_data *dflt;
	unsigned long ran = 0;
	unsigned int mark, first;
	pthread_t tid;

	(void)state;
	dflt = get_default_call_rcu_data();
	assert_non_null(dflt);
	tid = get_call_rcu_thread(dflt);
	first = join_mark();
	refuse_join_of(tid);
	urcu_compat_call_rcu_data_free(NULL);
	call_rcu_data_free(NULL);	/* liburcu's, through the header */
	urcu_compat_call_rcu_data_free(dflt);
	assert_int_equal(joins_since(first), 0);
	assert_online_again();

	/* Let the library settle whether liburcu joins (first free). */
	free_and_check_one_join();

	mark = join_mark();
	urcu_compat_call_rcu_data_free(NULL);
	assert_int_equal(joins_since(mark), 0);
	assert_online_again();
	urcu_compat_call_rcu_data_free(dflt);
	urcu_compat_call_rcu_data_free(dflt);
	call_rcu_data_free(dflt);	/* liburcu refuses it, silently */
	allow_all_joins();
	assert_online_again();
	if (joins_of_since(tid, first, NULL))
		printf("# the default worker's thread, which never exits, was joined %u times (4 frees)\n",
		       joins_of_since(tid, first, NULL));
	assert_int_equal(joins_of_since(tid, first, NULL), 0);
	assert_int_equal(joins_since(mark), 0);

	/* Still the default worker, still running callbacks. */
	assert_ptr_equal(get_default_call_rcu_data(), dflt);
	queue_counted(&ran);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 1);
}

/* ---------------------------------------------------------------- */
/* Child processes                                                    */
/* ---------------------------------------------------------------- */

/* What a child reports beyond its exit status. */
struct report {
	unsigned long ran;		/* plain callbacks */
	unsigned long chain_ran;	/* links of chained callbacks */
	unsigned long passed;		/* gated callbacks that got through */
	unsigned long behind;		/* callbacks queued behind a blocked one */
	unsigned long ran_at_barrier;	/* plain callbacks run when a barrier returned */
	long barrier_ret;		/* what that barrier returned */
	unsigned long joins;		/* joins of a thread that must not be joined */
	unsigned long reused;		/* new workers at a freed default's address */
	int grandchild_status;		/* a grandchild's verdict (run_in_child()) */
	long barrier2_ret;		/* what a second barrier returned */
	unsigned long stale_route;	/* call_rcu() route said "every CPU has a worker" */
	unsigned long message;		/* the expected message was printed on stderr */
};

static struct report *report_map(int fd)
{
	void *p = mmap(NULL, sizeof(struct report), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Run a scenario in a fresh process: its exit status, its report in *out. */
static int run_scenario(const char *name, struct report *out)
{
	struct report *r;
	char fdarg[16];
	FILE *file = tmpfile();
	const char *args[] = { "--scenario", name, fdarg, NULL };
	int fd, status;

	assert_non_null(file);
	fd = fileno(file);
	assert_int_equal(ftruncate(fd, sizeof(*r)), 0);
	r = report_map(fd);
	assert_non_null(r);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	status = harness_wait(harness_spawn_self(args, NULL));
	if (WIFSIGNALED(status))
		printf("# scenario %s killed by signal %d\n", name, WTERMSIG(status));
	assert_true(WIFEXITED(status));
	status = WEXITSTATUS(status);
	*out = *r;
	munmap(r, sizeof(*r));
	fclose(file);
	if (status)
		printf("# scenario %s: exit status %d\n", name, status);
	return status;
}

/*
 * In a scenario process or a fork() child: no cmocka, failures are exit
 * codes, the report page is where counts go.
 */
static struct report *rep;

static void child_queue_counted(unsigned long *counter)
{
	if (try_queue_counted(counter, 1))
		_exit(90);
}

/* A chain: each link counts itself and queues the next, from its worker. */
struct chain {
	struct rcu_head head;
	unsigned int left;
	unsigned long *ran;
};

static void chain_cb(struct rcu_head *head)
{
	struct chain *c = caa_container_of(head, struct chain, head);

	uatomic_inc(c->ran);
	if (c->left) {
		c->left--;
		call_rcu(&c->head, chain_cb);
	} else {
		free(c);
	}
}

static void child_queue_chain(unsigned int requeues, unsigned long *ran)
{
	struct chain *c = calloc(1, sizeof(*c));

	if (!c)
		_exit(91);
	c->left = requeues;
	c->ran = ran;
	call_rcu(&c->head, chain_cb);
}

#define EXIT_PLAIN	100
#define EXIT_CHAINS	3
#define EXIT_REQUEUES	4	/* each chain: 1 + EXIT_REQUEUES callbacks */

static void queue_plain_and_chains(void)
{
	int i;

	for (i = 0; i < EXIT_PLAIN; i++)
		child_queue_counted(&rep->ran);
	for (i = 0; i < EXIT_CHAINS; i++)
		child_queue_chain(EXIT_REQUEUES, &rep->chain_ran);
}

/*
 * Plain and chained callbacks on the default worker and on a worker of
 * the main thread, left queued for the exit barriers: one per link.
 */
static void queue_for_exit(void)
{
	struct call_rcu_data *own;

	rcu_register_thread();
	queue_plain_and_chains();
	own = create_call_rcu_data(0, -1);
	if (!own)
		_exit(10);
	set_thread_call_rcu_data(own);
	queue_plain_and_chains();
	urcu_compat_set_exit_barriers(EXIT_REQUEUES + 1, GENEROUS_MS);
}

static int scenario_exit_barriers(void)
{
	queue_for_exit();
	exit(0);	/* no barrier here: the library's destructor runs them */
}

static int scenario_exit_barriers_return(void)
{
	queue_for_exit();
	return 0;	/* from main() */
}

/*
 * A barrier, then exit: the chains' later links were queued by their
 * worker after that barrier began, so the exit barriers still run.
 */
static int scenario_exit_after_barrier(void)
{
	rcu_register_thread();
	queue_plain_and_chains();
	if (urcu_compat_barrier())
		return 12;
	urcu_compat_set_exit_barriers(EXIT_REQUEUES + 1, GENEROUS_MS);
	exit(0);
}

/* Exit barriers in a child forked with liburcu's handlers. */
static int queue_for_exit_in_child(void *arg)
{
	(void)arg;
	queue_plain_and_chains();
	urcu_compat_set_exit_barriers(EXIT_REQUEUES + 1, GENEROUS_MS);
	return 0;
}

static int scenario_exit_barriers_after_fork(void)
{
	rcu_register_thread();
	child_queue_counted(&rep->behind);	/* the workers exist at fork() */
	if (urcu_compat_barrier() || rep->behind != 1)
		return 11;
	rep->grandchild_status = run_in_child(queue_for_exit_in_child, NULL, 0,
					      CHILD_FORK_HOOKS | CHILD_EXITS);
	return 0;
}

/* The defaults: one barrier, bounded by 1000 ms. */
static int scenario_exit_default(void)
{
	int i;

	rcu_register_thread();
	for (i = 0; i < EXIT_PLAIN; i++)
		child_queue_counted(&rep->ran);
	exit(0);
}

/* A callback that never returns, with callbacks queued behind it. */
static struct gated never_gated;

static void block_forever_with_behind(int behind)
{
	int i;

	block_worker_on(&never_gated, &rep->passed);
	for (i = 0; i < behind; i++)
		child_queue_counted(&rep->behind);
}

static int scenario_exit_off_blocked(void)
{
	rcu_register_thread();
	block_forever_with_behind(10);
	urcu_compat_set_exit_barriers(0, UINT_MAX);
	exit(0);
}

static int scenario_exit_off(void)
{
	int i;

	rcu_register_thread();
	for (i = 0; i < EXIT_PLAIN; i++)
		child_queue_counted(&rep->ran);
	urcu_compat_set_exit_barriers(0, 1000);
	exit(0);
}

static int scenario_blocked_forever(void)
{
	int i;

	rcu_register_thread();
	for (i = 0; i < 10; i++)
		child_queue_counted(&rep->ran);
	block_forever_with_behind(10);
	urcu_compat_set_exit_barriers(1, 200);
	exit(0);
}

static int scenario_blocked_forever_many(void)
{
	rcu_register_thread();
	block_forever_with_behind(1);
	urcu_compat_set_exit_barriers(1000, 200);
	exit(0);
}

/*
 * exit() from inside a callback: a barrier would wait for the very
 * worker that runs exit(), so it must be skipped. The callback leaves one
 * more queued behind itself.
 */
static struct rcu_head exiter_head, exiter_next;

static void exiter_next_cb(struct rcu_head *head)
{
	(void)head;
	uatomic_inc(&rep->behind);
}

static void exiter_cb(struct rcu_head *head)
{
	(void)head;
	call_rcu(&exiter_next, exiter_next_cb);
	urcu_compat_set_exit_barriers(1, UINT_MAX);
	exit(0);
}

static int scenario_exit_from_callback(void)
{
	rcu_register_thread();
	call_rcu(&exiter_head, exiter_cb);
	/* The callback ends the process; this thread just waits, offline. */
	test_offline();
	for (;;)
		pause();
	return 0;	/* not reached */
}

/*
 * exit() inside a read-side critical section: a barrier would wait for
 * a grace period this thread holds up, so it must be skipped. A blocked
 * callback with one queued behind keeps a barrier from finishing anyway.
 */
static int scenario_exit_in_read_side(void)
{
	rcu_register_thread();
	block_forever_with_behind(1);
	urcu_compat_set_exit_barriers(1, UINT_MAX);
	rcu_read_lock();
	exit(0);
}

/*
 * A daemon forks at start-up, before any RCU use, and never calls
 * liburcu's fork handlers: nothing was lost in that fork(). The child's
 * workers are its own, so barriers, and the exit barriers, must work.
 */
static int first_rcu_use(void *arg)
{
	int i;

	(void)arg;
	rcu_register_thread();
	for (i = 0; i < EXIT_PLAIN; i++)
		child_queue_counted(&rep->ran);
	rep->barrier_ret = urcu_compat_barrier();
	rep->ran_at_barrier = uatomic_read(&rep->ran);
	child_queue_chain(EXIT_REQUEUES, &rep->chain_ran);
	urcu_compat_set_exit_barriers(EXIT_REQUEUES + 1, GENEROUS_MS);
	return 0;
}

static int scenario_fork_before_rcu_use(void)
{
	rep->grandchild_status = run_in_child(first_rcu_use, NULL, 0, CHILD_EXITS);
	return 0;
}

/*
 * In a scenario: free crdp; 0 when its thread had exited by the time the
 * free returned and was joined exactly once.
 */
static int scenario_free_once(struct call_rcu_data *crdp)
{
	struct exit_watch watch;
	unsigned int mark;
	pthread_t tid;
	int ret = JOIN_RUNNING;

	plant_watch(&watch, crdp);
	if (!watch.mine)
		return 40;
	tid = get_call_rcu_thread(crdp);
	synchronize_rcu();
	mark = join_mark();
	urcu_compat_call_rcu_data_free(crdp);
	if (!uatomic_read(&watch.exited))
		return 41;
	if (joins_of_since(tid, mark, &ret) != 1 || ret != 0)
		return 42;
	return 0;
}

/*
 * In a child of fork() with liburcu's handlers, the parent's default
 * worker was replaced (and freed) by call_rcu_after_fork_child(): a new
 * worker that gets its address is not the default and must be stopped.
 */
static struct call_rcu_data *parent_dflt;

static int free_new_workers(void *arg)
{
	struct call_rcu_data *own;
	int i, ret;

	(void)arg;
	for (i = 0; i < 4; i++) {
		own = create_call_rcu_data(0, -1);
		if (!own)
			return 51;
		if (own == parent_dflt)
			rep->reused++;
		ret = scenario_free_once(own);
		if (ret)
			return ret;
	}
	return 0;
}

static int scenario_free_in_child_with_handlers(void)
{
	struct call_rcu_data *dflt;

	rcu_register_thread();
	dflt = get_default_call_rcu_data();	/* handed out through the header */
	if (!dflt)
		return 50;
	/*
	 * Let it run once before fork(): liburcu 0.7 corrupts the new default
	 * worker's queue in call_rcu_after_fork_child() when a worker that
	 * never ran is freed there (its initial dummy node is moved, then
	 * freed with it).
	 */
	child_queue_counted(&rep->ran);
	if (urcu_compat_barrier() || rep->ran != 1)
		return 53;
	parent_dflt = dflt;
	rep->grandchild_status = run_in_child(free_new_workers, NULL, 0,
					      CHILD_FORK_HOOKS | CHILD_EXITS);
	return 0;
}

/*
 * The default worker as a callback sees it, get_thread_call_rcu_data(),
 * never handed out through the header: still the default worker, never
 * stopped, never joined (its thread never exits, so a join would hang:
 * the interposer refuses it and counts it).
 */
static struct call_rcu_data *grabbed;
static struct gate grabbed_gate;
static struct rcu_head grab_head;

static void grab_cb(struct rcu_head *head)
{
	(void)head;
	grabbed = get_thread_call_rcu_data();
	gate_mark_entered(&grabbed_gate);
}

static int scenario_free_default_seen_from_callback(void)
{
	struct call_rcu_data *own;
	unsigned int mark;
	pthread_t tid;
	int ret;

	rcu_register_thread();
	own = create_call_rcu_data(0, -1);
	if (!own)
		return 60;
	ret = scenario_free_once(own);	/* settles whether liburcu joins */
	if (ret)
		return ret;
	gate_init(&grabbed_gate);
	/* Exit barriers off: call_rcu() goes to liburcu's default worker. */
	urcu_compat_set_exit_barriers(0, 0);
	call_rcu(&grab_head, grab_cb);	/* to the default worker, created here */
	gate_wait_entered(&grabbed_gate);
	if (!grabbed)
		return 61;
	tid = get_call_rcu_thread(grabbed);
	refuse_join_of(tid);
	mark = join_mark();
	urcu_compat_call_rcu_data_free(grabbed);
	allow_all_joins();
	rep->joins = joins_of_since(tid, mark, NULL);
	child_queue_counted(&rep->ran);
	rep->barrier_ret = urcu_compat_barrier();
	return 0;
}

/*
 * The end of a scenario that does not test exit: liburcu 0.7.16's signal
 * flavor aborts at exit in any process that used call_rcu() (its workers
 * are still registered readers), so these leave without destructors.
 */
static int leave_scenario(int status)
{
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

/*
 * free_all_cpu_call_rcu_data() with a call_rcu() in the middle of it: the
 * free is held while CPU 0's worker blocks in a callback, and the call is
 * made once the free has started. Afterwards no CPU has a worker, so
 * call_rcu() reaches the default worker, and a barrier must wait for it.
 */
static struct gated cpu0_gated, after_gated;

static void *free_all_cpu_workers(void *arg)
{
	(void)arg;
	rcu_register_thread();
	test_offline();	/* QSBR: liburcu's free waits for workers that wait for grace periods */
	free_all_cpu_call_rcu_data();
	test_online();
	rcu_unregister_thread();
	return NULL;
}

/* Emulation: does the call_rcu() route take every CPU to have its worker? */
static int route_says_every_cpu(void)
{
#if URCU_COMPAT_NATIVE_BARRIER
	return 0;
#else
	return (CMM_LOAD_SHARED(URCU_COMPAT_SYM(route)) & URCU_COMPAT_FAST_CPU_WORKERS) != 0;
#endif
}

static int scenario_free_all_cpu_during_call_rcu(void)
{
	struct call_rcu_data *cpu0;
	pthread_t tid;

	alarm(CHILD_WATCHDOG_S);
	rcu_register_thread();
	if (create_all_cpu_call_rcu_data(0))
		return 70;
	rcu_read_lock();
	cpu0 = get_cpu_call_rcu_data(0);
	rcu_read_unlock();
	if (!cpu0)
		return 71;
	set_thread_call_rcu_data(cpu0);
	block_worker_on(&cpu0_gated, NULL);
	set_thread_call_rcu_data(NULL);
	child_queue_counted(&rep->ran);		/* per-CPU route: every CPU has its worker */
	if (!URCU_COMPAT_NATIVE_BARRIER && !route_says_every_cpu())
		return 72;
	if (pthread_create(&tid, NULL, free_all_cpu_workers, NULL))
		return 73;
	/*
	 * Emulation: the free starts by taking the per-CPU route away; wait
	 * for that. It cannot finish before CPU 0's worker is released.
	 */
	test_offline();
	while (route_says_every_cpu())
		sched_yield();
	test_online();
	child_queue_counted(&rep->ran);		/* while the free is in progress */
	gate_open(&cpu0_gated.gate);
	test_join(tid);
	rep->stale_route = route_says_every_cpu();

	/* call_rcu() now reaches the default worker, held by a callback. */
	block_worker_on(&after_gated, NULL);
	child_queue_counted(&rep->behind);
	rep->barrier_ret = urcu_compat_barrier_timeout(0);	/* must not be 0 */
	gate_open(&after_gated.gate);
	rep->barrier2_ret = urcu_compat_barrier();
	rep->ran_at_barrier = uatomic_read(&rep->behind) + uatomic_read(&rep->ran);
	return leave_scenario(0);
}

/*
 * A fork() child, without liburcu's handlers, of a parent with workers
 * (per-CPU ones that never ran a barrier, or any, forked from a thread
 * that bp never registered): the workers' threads are gone there.
 */
static int child_refuses_barriers(void *arg)
{
	(void)arg;
	if (urcu_compat_barrier() != -ESRCH)
		return 1;
	if (urcu_compat_barrier_timeout(UINT_MAX) != -ESRCH)
		return 2;
	rcu_barrier();	/* returns, with a message */
	return 0;
}

static int scenario_fork_child_of_cpu_workers(void)
{
	alarm(2 * CHILD_WATCHDOG_S);
	rcu_register_thread();
	if (create_all_cpu_call_rcu_data(0))
		return 80;
	rep->barrier_ret = run_in_child(child_refuses_barriers, NULL, 0, 0);
	return leave_scenario(0);
}

/*
 * Two threads stop the same worker at once: the first is held in the
 * join of the worker's thread (by the library or by liburcu) while the
 * second call is made. stderr is kept in a file meanwhile.
 */
static struct gate join_gate;

static void *stop_worker_thread(void *crdp)
{
	rcu_register_thread();
	urcu_compat_call_rcu_data_free(crdp);
	rcu_unregister_thread();
	return NULL;
}

static int scenario_free_same_worker_twice_at_once(void)
{
	static const char expect[] = "[error] urcu-compat: ";
	struct call_rcu_data *crdp;
	char text[512];
	FILE *err = tmpfile();
	pthread_t worker, stopper;
	unsigned int mark;
	size_t len;
	int saved;

	alarm(CHILD_WATCHDOG_S);
	if (!err)
		return 90;
	rcu_register_thread();
	crdp = create_call_rcu_data(0, -1);
	if (!crdp)
		return 91;
	worker = get_call_rcu_thread(crdp);
	synchronize_rcu();
	gate_init(&join_gate);
	hold_join_of(worker, &join_gate);
	mark = join_mark();
	if (pthread_create(&stopper, NULL, stop_worker_thread, crdp))
		return 92;
	gate_wait_entered(&join_gate);		/* the first stop is joining */

	fflush(stderr);
	saved = dup(2);
	if (saved < 0 || dup2(fileno(err), 2) < 0)
		return 93;
	urcu_compat_call_rcu_data_free(crdp);	/* must return at once */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	gate_open(&join_gate);
	test_join(stopper);
	rep->joins = joins_of_since(worker, mark, NULL);
	rewind(err);
	len = fread(text, 1, sizeof(text) - 1, err);
	text[len] = '\0';
	fclose(err);
	fputs(text, stderr);
	rep->message = strstr(text, expect) != NULL;
	child_queue_counted(&rep->ran);
	rep->barrier_ret = urcu_compat_barrier();
	return leave_scenario(0);
}

static const struct scenario scenarios[] = {
	{ "free-in-child-with-handlers", scenario_free_in_child_with_handlers },
	{ "free-default-seen-from-callback", scenario_free_default_seen_from_callback },
	{ "exit-barriers", scenario_exit_barriers },
	{ "exit-barriers-return", scenario_exit_barriers_return },
	{ "exit-after-barrier", scenario_exit_after_barrier },
	{ "exit-barriers-after-fork", scenario_exit_barriers_after_fork },
	{ "exit-default", scenario_exit_default },
	{ "exit-off-blocked", scenario_exit_off_blocked },
	{ "exit-off", scenario_exit_off },
	{ "blocked-forever", scenario_blocked_forever },
	{ "blocked-forever-many", scenario_blocked_forever_many },
	{ "exit-from-callback", scenario_exit_from_callback },
	{ "exit-in-read-side", scenario_exit_in_read_side },
	{ "fork-before-rcu-use", scenario_fork_before_rcu_use },
	{ "free-all-cpu-during-call-rcu", scenario_free_all_cpu_during_call_rcu },
	{ "fork-child-of-cpu-workers", scenario_fork_child_of_cpu_workers },
	{ "free-same-worker-twice-at-once", scenario_free_same_worker_twice_at_once },
};

static int scenario_main(const char *name, const char *fdarg)
{
	rep = report_map(atoi(fdarg));
	if (!rep)
		return 100;
	return run_scenario_named(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), name);
}

/* ---------------------------------------------------------------- */
/* 1 (continued). Worker stop in fresh processes                      */
/* ---------------------------------------------------------------- */

static void test_free_in_child_with_handlers(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("free-in-child-with-handlers", &r), 0);
	if (r.grandchild_status)
		printf("# %lu of 4 new workers had the address of the parent's default worker\n",
		       r.reused);
	assert_int_equal(r.grandchild_status, 0);
}

static void test_free_default_worker_seen_from_callback(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("free-default-seen-from-callback", &r), 0);
	if (r.joins)
		printf("# the default worker's thread, which never exits, was joined %lu times\n",
		       r.joins);
	assert_int_equal(r.joins, 0);
	assert_int_equal(r.barrier_ret, 0);
	assert_int_equal(r.ran, 1);
}

/*
 * A second urcu_compat_call_rcu_data_free() of a worker whose stop is in
 * progress returns at once with a one-time message; the first one
 * completes, and the worker's thread is joined exactly once.
 */
static void test_free_same_worker_twice_at_once(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("free-same-worker-twice-at-once", &r), 0);
	assert_int_equal(r.joins, 1);
	assert_int_equal(r.message, 1);
	assert_int_equal(r.barrier_ret, 0);
	assert_int_equal(r.ran, 1);
}

/*
 * free_all_cpu_call_rcu_data() while call_rcu() is called: afterwards
 * the barriers wait for the default worker, where call_rcu() now goes.
 */
static void test_barrier_after_free_all_cpu_call_rcu_data(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("free-all-cpu-during-call-rcu", &r), 0);
	if (r.stale_route || r.barrier_ret != -ETIMEDOUT)
		printf("# after the free: route \"every CPU has a worker\" %lu, barrier behind a blocked default worker returned %ld\n",
		       r.stale_route, r.barrier_ret);
	assert_int_equal(r.stale_route, 0);
	assert_int_equal(r.barrier_ret, -ETIMEDOUT);
	assert_int_equal(r.barrier2_ret, 0);
	assert_int_equal(r.ran_at_barrier, 3);
}

/* ---------------------------------------------------------------- */
/* 3. Exit barriers                                                   */
/* ---------------------------------------------------------------- */

/*
 * Callbacks queued right before the end of the process, on the default
 * worker and on one of the main thread's, and chains that need one
 * barrier per link, have all run when the process is gone.
 */
static void test_exit_barriers_run_queued_and_chained_callbacks(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-barriers", &r), 0);
	assert_int_equal(r.ran, 2 * EXIT_PLAIN);
	assert_int_equal(r.chain_ran, 2 * EXIT_CHAINS * (EXIT_REQUEUES + 1));

	assert_int_equal(run_scenario("exit-barriers-return", &r), 0);
	assert_int_equal(r.ran, 2 * EXIT_PLAIN);
	assert_int_equal(r.chain_ran, 2 * EXIT_CHAINS * (EXIT_REQUEUES + 1));

	assert_int_equal(run_scenario("exit-after-barrier", &r), 0);
	assert_int_equal(r.ran, EXIT_PLAIN);
	assert_int_equal(r.chain_ran, EXIT_CHAINS * (EXIT_REQUEUES + 1));
}

/* In a child of fork() with liburcu's handlers, exit barriers work too. */
static void test_exit_barriers_in_child_with_handlers(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-barriers-after-fork", &r), 0);
	assert_int_equal(r.grandchild_status, 0);
	assert_int_equal(r.behind, 1);
	assert_int_equal(r.ran, EXIT_PLAIN);
	assert_int_equal(r.chain_ran, EXIT_CHAINS * (EXIT_REQUEUES + 1));
}

/*
 * The defaults (one barrier bounded by 1000 ms): whether all ran depends
 * on that bound, so only the count is printed.
 */
static void test_exit_barriers_default_setting(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-default", &r), 0);
	assert_true(r.ran <= EXIT_PLAIN);
	printf("# default exit barrier: %lu of %d callbacks ran\n", r.ran, EXIT_PLAIN);
}

/*
 * count 0 turns exit barriers off. What runs before the process ends is
 * then a race with the workers, so this is what is asserted: exit does
 * not wait, even behind a callback that never returns and with a bound
 * that would outlast the harness, and what is stuck behind it never ran.
 */
static void test_exit_barriers_off(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-off-blocked", &r), 0);
	assert_int_equal(r.passed, 0);
	assert_int_equal(r.behind, 0);

	assert_int_equal(run_scenario("exit-off", &r), 0);
	assert_true(r.ran <= EXIT_PLAIN);
	printf("# exit barriers off: %lu of %d callbacks queued before exit() ran\n",
	       r.ran, EXIT_PLAIN);
}

/* ---------------------------------------------------------------- */
/* 4. fork() child without liburcu's handlers                         */
/* ---------------------------------------------------------------- */

/*
 * Such a child has none of the workers' threads: barriers are refused
 * there, and exit skips its barriers at once. The bound is set past the
 * harness timeout, so a barrier that waited would show as a hang. This
 * one is a fork() of the test process itself, with its workers busy.
 */
static int refuse_barriers_then_exit(void *arg)
{
	(void)arg;
	if (urcu_compat_barrier() != -ESRCH)
		return 2;
	if (urcu_compat_barrier_timeout(UINT_MAX) != -ESRCH)
		return 3;
	urcu_compat_set_exit_barriers(1, UINT_MAX);
	return 0;
}

static int exit_with_defaults(void *arg)
{
	(void)arg;
	return 0;
}

static int exit_with_unbounded_barrier(void *arg)
{
	(void)arg;
	urcu_compat_set_exit_barriers(1, UINT_MAX);
	return 0;
}

static void test_fork_child_without_handlers_exits(void **state)
{
	struct call_rcu_data *own;
	unsigned long ran = 0, passed = 0;
	int busy_status, busy_default_status, idle_status;

	(void)state;
	/* Pending work everywhere: both workers blocked, callbacks queued behind. */
	own = block_default_and_own(&dflt_gated, &own_gated, &ran, &passed);

	busy_status = run_in_child(refuse_barriers_then_exit, NULL, 0, CHILD_EXITS);
	/* The same with the default exit setting. */
	busy_default_status = run_in_child(exit_with_defaults, NULL, 0, CHILD_EXITS);

	/* The parent's workers are untouched by all this. */
	gate_open(&dflt_gated.gate);
	gate_open(&own_gated.gate);
	assert_int_equal(busy_status, 0);
	assert_int_equal(busy_default_status, 0);
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&passed), 2);
	assert_int_equal(uatomic_read(&ran), 40);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(own);

	/* Workers idle at fork(): the child exits all the same. */
	idle_status = run_in_child(exit_with_unbounded_barrier, NULL, 0, CHILD_EXITS);
	assert_int_equal(idle_status, 0);
}

/*
 * In a child forked right after a worker was created through the header,
 * its exit watch may still be queued: liburcu moves it to the child's
 * default worker, where it runs. Nothing in the child may free it first
 * (a double free, or a write to freed memory, under valgrind and ASan).
 */
static int child_after_fresh_worker(void *arg)
{
	struct call_rcu_data *crdp;
	unsigned long ran = 0;

	(void)arg;
	if (urcu_compat_barrier())	/* runs what liburcu moved, the watch among it */
		return 2;
	crdp = create_call_rcu_data(0, -1);
	if (!crdp)
		return 3;
	set_thread_call_rcu_data(crdp);
	if (try_queue_counted(&ran, 5))
		return 4;
	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);
	if (urcu_compat_barrier() || uatomic_read(&ran) != 5)
		return 5;
	return 0;
}

static void test_fork_right_after_worker_created(void **state)
{
	struct call_rcu_data *crdp;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		crdp = create_call_rcu_data(0, -1);
		assert_non_null(crdp);
		/*
		 * liburcu 0.7 crashes a child forked before a new worker's
		 * thread first ran: its free moves the queue's dummy node
		 * (doc/limits.md). There, the worker runs a barrier first.
		 */
		if (!TEST_URCU_HAS_RCU_BARRIER)
			assert_int_equal(urcu_compat_barrier(), 0);
		assert_int_equal(run_in_child(child_after_fresh_worker, NULL, 0,
					      CHILD_FORK_HOOKS | CHILD_EXITS), 0);
		synchronize_rcu();
		urcu_compat_call_rcu_data_free(crdp);
	}
}

/*
 * A fork() before any RCU use (a daemon going to the background) loses
 * no worker: in that child barriers work and exit barriers run.
 */
static void test_fork_before_any_rcu_use(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("fork-before-rcu-use", &r), 0);
	assert_int_equal(r.grandchild_status, 0);
	if (r.barrier_ret)
		printf("# urcu_compat_barrier() in the child returned %ld\n", r.barrier_ret);
	assert_int_equal(r.barrier_ret, 0);
	assert_int_equal(r.ran_at_barrier, EXIT_PLAIN);
	assert_int_equal(r.chain_ran, EXIT_REQUEUES + 1);
}

/*
 * Per-CPU workers, no barrier yet, fork() without liburcu's handlers:
 * the child's barriers are refused at once, rcu_barrier() returns.
 */
static void test_barrier_in_fork_child_of_cpu_workers(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("fork-child-of-cpu-workers", &r), 0);
	if (r.barrier_ret)
		printf("# the child's verdict: %ld (-1: killed by the watchdog)\n", r.barrier_ret);
	assert_int_equal(r.barrier_ret, 0);
}

#if defined(_URCU_BP_H)
/*
 * bp: a thread that never entered a read side is not registered, and
 * liburcu registers it (under bp's registry lock) on its first read-side
 * call. A fork() child made while another thread held that lock can never
 * take it: the barrier's checks must not register the caller there. The
 * lock is held on purpose, by rcu_bp_before_fork() in a second thread.
 */
static struct gate bp_locks_held;

static void *hold_bp_locks(void *arg)
{
	(void)arg;
	rcu_bp_before_fork();
	gate_enter_and_wait(&bp_locks_held);
	rcu_bp_after_fork_parent();
	return NULL;
}

static void *fork_unregistered(void *arg)
{
	*(int *)arg = run_in_child(child_refuses_barriers, NULL, 0, 0);
	return NULL;
}

static void test_barrier_in_fork_child_of_unregistered_bp_thread(void **state)
{
	pthread_t holder, forker;
	int verdict = -2;

	(void)state;
	assert_int_equal(urcu_compat_barrier(), 0);	/* the workers are known */
	gate_init(&bp_locks_held);
	assert_int_equal(pthread_create(&holder, NULL, hold_bp_locks, NULL), 0);
	gate_wait_entered(&bp_locks_held);
	assert_int_equal(pthread_create(&forker, NULL, fork_unregistered, &verdict), 0);
	assert_int_equal(pthread_join(forker, NULL), 0);
	gate_open(&bp_locks_held);
	assert_int_equal(pthread_join(holder, NULL), 0);
	assert_int_equal(verdict, 0);	/* -1: the child hung (watchdog) */
}
#endif

/* ---------------------------------------------------------------- */
/* 5. Exit never hangs                                                */
/* ---------------------------------------------------------------- */

/* A callback that never returns holds exit only up to the bound. */
static void test_exit_with_callback_blocked_forever(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("blocked-forever", &r), 0);
	assert_int_equal(r.ran, 10);	/* queued before the blocked one */
	assert_int_equal(r.passed, 0);
	assert_int_equal(r.behind, 0);

	/* Many barriers allowed: the first that gives up ends them. */
	assert_int_equal(run_scenario("blocked-forever-many", &r), 0);
	assert_int_equal(r.passed, 0);
	assert_int_equal(r.behind, 0);
}

static void test_exit_from_callback(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-from-callback", &r), 0);
	assert_int_equal(r.behind, 0);
}

#if !URCU_COMPAT_IS_QSBR	/* QSBR has no read-side state to be in */
static void test_exit_in_read_side(void **state)
{
	struct report r;

	(void)state;
	assert_int_equal(run_scenario("exit-in-read-side", &r), 0);
	assert_int_equal(r.passed, 0);
	assert_int_equal(r.behind, 0);
}
#endif

/* ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_joins_each_worker_once),
		cmocka_unit_test(test_free_from_many_threads_at_once),
		cmocka_unit_test(test_free_of_busy_worker_with_callbacks_after_barrier),
		cmocka_unit_test(test_free_after_barrier_with_and_without_later_callbacks),
		cmocka_unit_test(test_free_of_worker_made_without_header),
		cmocka_unit_test(test_free_ignores_null_and_default_worker),
		cmocka_unit_test(test_free_in_child_with_handlers),
		cmocka_unit_test(test_free_default_worker_seen_from_callback),
		cmocka_unit_test(test_free_same_worker_twice_at_once),
		cmocka_unit_test(test_barrier_after_free_all_cpu_call_rcu_data),
		cmocka_unit_test(test_exit_barriers_run_queued_and_chained_callbacks),
		cmocka_unit_test(test_exit_barriers_in_child_with_handlers),
		cmocka_unit_test(test_exit_barriers_default_setting),
		cmocka_unit_test(test_exit_barriers_off),
		cmocka_unit_test_teardown(test_fork_child_without_handlers_exits, open_gates),
		cmocka_unit_test(test_fork_right_after_worker_created),
		cmocka_unit_test(test_fork_before_any_rcu_use),
		cmocka_unit_test(test_barrier_in_fork_child_of_cpu_workers),
#if defined(_URCU_BP_H)
		cmocka_unit_test(test_barrier_in_fork_child_of_unregistered_bp_thread),
#endif
		cmocka_unit_test(test_exit_with_callback_blocked_forever),
		cmocka_unit_test(test_exit_from_callback),
#if !URCU_COMPAT_IS_QSBR
		cmocka_unit_test(test_exit_in_read_side),
#endif
	};

	if (pthread_key_create(&exit_key, exit_watch_destructor))
		return 99;
	if (argc == 4 && !strcmp(argv[1], "--scenario"))
		return scenario_main(argv[2], argv[3]);

	harness_find_self(argv[0]);
	/* By hand: test_lifecycle-<flavor>-<mode> 'test_exit_*' (cmocka 1.1.2+) */
	if (argc > 1) {
#ifdef HAVE_CMOCKA_SET_TEST_FILTER
		cmocka_set_test_filter(argv[1]);
#else
		fprintf(stderr, "a test filter needs cmocka 1.1.2 or later\n");
		return 2;
#endif
	}
	return cmocka_run_group_tests_name("urcu_compat lifecycle " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, harness_setup, harness_teardown);
}
