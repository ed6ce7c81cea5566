/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.c - cost of a barrier and of call_rcu(), one binary per mode.
 *
 * Built three times from this file (memb flavor, see meson.build):
 *   bench-plain   <urcu.h> only: liburcu's own rcu_barrier() and call_rcu()
 *   bench-native  <urcu.h> + urcu-compat.h in native mode
 *   bench-emul    <urcu.h> + urcu-compat.h forced into the 0.7 emulation
 * run.py runs them interleaved and prints the table. bench-plain has no
 * barrier commands on liburcu 0.7, which has no rcu_barrier().
 *
 * Commands; every result is one line "name field...", read by run.py:
 *   latency WORKERS COUNT WARMUP
 *	one callback pending on each of WORKERS own workers, then time
 *	rcu_barrier(); per barrier: "latency WORKERS ns floor_ns after_ns
 *	allocs", floor_ns being the time from queueing the pending callbacks
 *	to the last of them having run, after_ns the time from then until
 *	rcu_barrier() returned.
 *   concurrent THREADS BARRIERS WORKERS
 *	THREADS threads each call rcu_barrier() BARRIERS times at once:
 *	"concurrent THREADS BARRIERS WORKERS total_ns allocs".
 *   callrcu THREADS CALLS REPS default|own|percpu
 *	each thread queues CALLS callbacks, on the default worker, on a
 *	worker of its own or on the per-CPU workers: "callrcu KIND THREADS
 *	calls_per_cpu_s calls_per_s" per repetition (the first one warms
 *	up, unprinted); calls per second of the calling threads' CPU time,
 *	summed over them, and over the wall-clock time.
 *   instr WORKERS COUNT
 *	COUNT calls of bench_barrier_once() with no callback pending, for
 *	valgrind --tool=callgrind --toggle-collect=bench_barrier_once.
 *
 *   serve
 *	the same commands, one per line on stdin, each answered by its
 *	lines and "end"; workers are kept from one command to the next.
 *
 * Allocations are counted by the malloc family below, which forwards to
 * glibc; elsewhere they are reported as -1.
 */
#define _GNU_SOURCE
#include <urcu.h>
#ifndef BENCH_PLAIN
#include <urcu-compat.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if !defined(BENCH_PLAIN) || defined(rcu_barrier)
#define BENCH_BARRIERS	1
#else
#define BENCH_BARRIERS	0
#endif

#if defined(BENCH_PLAIN)
#define MODE_NAME	"plain"
#define free_worker	call_rcu_data_free
#elif URCU_COMPAT_NATIVE_BARRIER
#define MODE_NAME	"native"
#define free_worker	urcu_compat_call_rcu_data_free
#else
#define MODE_NAME	"emul"
#define free_worker	urcu_compat_call_rcu_data_free
#endif

#define MAX_WORKERS	64
#define MAX_THREADS	64

/* ---------------------------------------------------------------- */
/* Allocation counter                                                 */
/* ---------------------------------------------------------------- */

#ifdef __GLIBC__
static unsigned long nallocs;

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

void *memalign(size_t alignment, size_t size);
void *pvalloc(size_t size);

void *malloc(size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_malloc(size);
}

void *calloc(size_t nmemb, size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	__libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_memalign(alignment, size);
}

int posix_memalign(void **memptr, size_t alignment, size_t size)
{
	void *p;

	if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
		return EINVAL;
	uatomic_inc(&nallocs);
	p = __libc_memalign(alignment, size);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

void *valloc(size_t size)
{
	uatomic_inc(&nallocs);
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	uatomic_inc(&nallocs);
	return __libc_memalign(page, (size + page - 1) & ~(page - 1));
}
#endif

/* ---------------------------------------------------------------- */
/* Helpers                                                            */
/* ---------------------------------------------------------------- */

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
		(unsigned long long)ts.tv_nsec;
}

/* CPU time of the calling thread: time taken by other work is left out. */
static unsigned long long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
		(unsigned long long)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-%s: %s\n", MODE_NAME, what);
	exit(1);
}

static int parse_int(const char *s, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die("bad number");
	return (int)v;
}

/* ---------------------------------------------------------------- */
/* Barriers                                                           */
/* ---------------------------------------------------------------- */
#if BENCH_BARRIERS

/* Allocations so far, or -1 per difference where they are not counted. */
static long allocs(void)
{
#ifdef __GLIBC__
	return (long)uatomic_read(&nallocs);
#else
	return 0;
#endif
}

static long alloc_delta(long before, long after)
{
#ifdef __GLIBC__
	return after - before;
#else
	(void)before;
	(void)after;
	return -1;
#endif
}

static struct call_rcu_data *workers[MAX_WORKERS];
static int nworkers_live;

/* Stop the workers; this thread only ever set them for a moment. */
static void free_workers(void)
{
	int i;

	if (!nworkers_live)
		return;
	synchronize_rcu();
	for (i = 0; i < nworkers_live; i++)
		free_worker(workers[i]);
	nworkers_live = 0;
}

/* Have exactly n own workers, kept from one command to the next. */
static void use_workers(int n)
{
	int i;

	if (n == nworkers_live)
		return;
	free_workers();
	for (i = 0; i < n; i++) {
		workers[i] = create_call_rcu_data(0, -1);
		if (!workers[i])
			die("create_call_rcu_data failed");
	}
	nworkers_live = n;
}

/* Queue head on that worker, as an application with its own workers does. */
static void queue_on(struct call_rcu_data *crdp, struct rcu_head *head,
		     void (*func)(struct rcu_head *head))
{
	set_thread_call_rcu_data(crdp);
	call_rcu(head, func);
	set_thread_call_rcu_data(NULL);
}

struct stamped {
	struct rcu_head head;
	unsigned long long ran;
};

static struct stamped pending[MAX_WORKERS];

static void stamp_cb(struct rcu_head *head)
{
	struct stamped *s = caa_container_of(head, struct stamped, head);

	s->ran = now_ns();
}

static void cmd_latency(int nworkers, int count, int warmup)
{
	unsigned long long tq, t0, t1, last;
	long a0, a1;
	int i, w;

	use_workers(nworkers);
	for (i = 0; i < warmup + count; i++) {
		tq = now_ns();
		for (w = 0; w < nworkers; w++)
			queue_on(workers[w], &pending[w].head, stamp_cb);
		a0 = allocs();
		t0 = now_ns();
		rcu_barrier();
		t1 = now_ns();
		a1 = allocs();
		last = tq;
		for (w = 0; w < nworkers; w++)
			if (pending[w].ran > last)
				last = pending[w].ran;
		if (i >= warmup)
			printf("latency %d %llu %llu %llu %ld\n", nworkers,
			       t1 - t0, last - tq, t1 - last,
			       alloc_delta(a0, a1));
	}
}

struct conc_arg {
	pthread_barrier_t *start;
	int count;
};

static void *conc_thread(void *p)
{
	struct conc_arg *arg = p;
	int i;

	rcu_register_thread();
	pthread_barrier_wait(arg->start);
	for (i = 0; i < arg->count; i++)
		rcu_barrier();
	rcu_unregister_thread();
	return NULL;
}

static void cmd_concurrent(int nthreads, int count, int nworkers)
{
	pthread_t tids[MAX_THREADS];
	pthread_barrier_t start;
	struct conc_arg arg;
	unsigned long long t0, t1;
	long a0, a1;
	int i;

	use_workers(nworkers);
	rcu_barrier();
	rcu_barrier();
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads + 1);
	arg.start = &start;
	arg.count = count;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, conc_thread, &arg))
			die("pthread_create failed");
	a0 = allocs();
	t0 = now_ns();
	pthread_barrier_wait(&start);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	t1 = now_ns();
	a1 = allocs();
	pthread_barrier_destroy(&start);
	printf("concurrent %d %d %d %llu %ld\n", nthreads, count, nworkers,
	       t1 - t0, alloc_delta(a0, a1));
}

/* Kept out of line, and not a tail call, for --toggle-collect. */
void bench_barrier_once(void);

__attribute__((noinline)) void bench_barrier_once(void)
{
	rcu_barrier();
	cmm_barrier();
}

static void cmd_instr(int nworkers, int count)
{
	int i;

	use_workers(nworkers);
	for (i = 0; i < 3; i++)
		rcu_barrier();
	for (i = 0; i < count; i++)
		bench_barrier_once();
	printf("instr %d %d\n", nworkers, count);
}

#endif /* BENCH_BARRIERS */

/* ---------------------------------------------------------------- */
/* call_rcu throughput                                                */
/* ---------------------------------------------------------------- */

static unsigned long cb_done;

static void count_cb(struct rcu_head *head)
{
	(void)head;
	uatomic_inc(&cb_done);
}

struct cr_arg {
	pthread_barrier_t *sync;
	struct rcu_head *heads;
	long calls;
	int reps, own;	/* own: a worker of its own */
	unsigned long long t0, t1, cpu;
};

/* Kept out of line for --toggle-collect: the timed loop alone. */
void bench_call_rcu_many(struct rcu_head *heads, long n);

__attribute__((noinline)) void bench_call_rcu_many(struct rcu_head *heads,
						   long n)
{
	long i;

	for (i = 0; i < n; i++)
		call_rcu(&heads[i], count_cb);
	cmm_barrier();
}

static void *callrcu_thread(void *p)
{
	struct cr_arg *arg = p;
	struct call_rcu_data *crdp = NULL;
	int rep;

	rcu_register_thread();
	if (arg->own) {
		crdp = create_call_rcu_data(0, -1);
		if (!crdp)
			die("create_call_rcu_data failed");
		set_thread_call_rcu_data(crdp);
	}
	for (rep = 0; rep < arg->reps; rep++) {
		pthread_barrier_wait(arg->sync);
		arg->t0 = now_ns();
		arg->cpu = thread_cpu_ns();
		bench_call_rcu_many(arg->heads, arg->calls);
		arg->cpu = thread_cpu_ns() - arg->cpu;
		arg->t1 = now_ns();
		pthread_barrier_wait(arg->sync);	/* all queued */
		pthread_barrier_wait(arg->sync);	/* all ran */
	}
	if (crdp) {
		set_thread_call_rcu_data(NULL);
		synchronize_rcu();
		free_worker(crdp);
	}
	rcu_unregister_thread();
	return NULL;
}

static const char *const kinds[] = { "default", "own", "percpu" };

static void cmd_callrcu(int nthreads, int calls, int reps, int kind)
{
	static struct cr_arg args[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	pthread_barrier_t sync;
	unsigned long long first, last;
	double cpu_rate;
	unsigned long expect = uatomic_read(&cb_done);
	struct timespec ms = { 0, 1000000 };
	int i, rep;

	reps++;		/* the first one warms up */
	if (kind == 2 && create_all_cpu_call_rcu_data(0))
		die("create_all_cpu_call_rcu_data failed");
	pthread_barrier_init(&sync, NULL, (unsigned int)nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		args[i].sync = &sync;
		args[i].heads = malloc((size_t)calls * sizeof(struct rcu_head));
		if (!args[i].heads)
			die("out of memory");
		memset(args[i].heads, 0, (size_t)calls * sizeof(struct rcu_head));
		args[i].calls = calls;
		args[i].reps = reps;
		args[i].own = kind == 1;
		if (pthread_create(&tids[i], NULL, callrcu_thread, &args[i]))
			die("pthread_create failed");
	}
	for (rep = 0; rep < reps; rep++) {
		pthread_barrier_wait(&sync);
		pthread_barrier_wait(&sync);
		expect += (unsigned long)nthreads * (unsigned long)calls;
		while (uatomic_read(&cb_done) != expect)
			nanosleep(&ms, NULL);
		first = args[0].t0;
		last = args[0].t1;
		cpu_rate = 0;
		for (i = 0; i < nthreads; i++) {
			if (args[i].t0 < first)
				first = args[i].t0;
			if (args[i].t1 > last)
				last = args[i].t1;
			cpu_rate += calls * 1e9 / (double)(args[i].cpu ? args[i].cpu : 1);
		}
		if (rep > 0)
			printf("callrcu %s %d %.0f %.0f\n", kinds[kind],
			       nthreads, cpu_rate, (double)nthreads * calls *
			       1e9 / (double)(last - first));
		pthread_barrier_wait(&sync);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tids[i], NULL);
		free(args[i].heads);
	}
	pthread_barrier_destroy(&sync);
	if (kind == 2)
		free_all_cpu_call_rcu_data();
}

/* ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-%s latency WORKERS COUNT WARMUP\n"
		"       bench-%s concurrent THREADS BARRIERS WORKERS\n"
		"       bench-%s callrcu THREADS CALLS REPS default|own|percpu\n"
		"       bench-%s instr WORKERS COUNT\n"
		"       bench-%s serve    (the same commands, one per line)\n",
		MODE_NAME, MODE_NAME, MODE_NAME, MODE_NAME, MODE_NAME);
	exit(2);
}

/* Run one command; -1 when it is not one. */
static int command(int argc, char **argv)
{
	int kind;

	if (!strcmp(argv[0], "callrcu") && argc == 5) {
		for (kind = 0; kind < 3; kind++)
			if (!strcmp(argv[4], kinds[kind]))
				break;
		if (kind == 3)
			return -1;
		cmd_callrcu(parse_int(argv[1], 1, MAX_THREADS),
			    parse_int(argv[2], 1, 100000000),
			    parse_int(argv[3], 1, 10000), kind);
#if BENCH_BARRIERS
	} else if (!strcmp(argv[0], "latency") && argc == 4) {
		cmd_latency(parse_int(argv[1], 1, MAX_WORKERS),
			    parse_int(argv[2], 1, 100000),
			    parse_int(argv[3], 0, 100000));
	} else if (!strcmp(argv[0], "concurrent") && argc == 4) {
		cmd_concurrent(parse_int(argv[1], 1, MAX_THREADS),
			       parse_int(argv[2], 1, 100000),
			       parse_int(argv[3], 1, MAX_WORKERS));
	} else if (!strcmp(argv[0], "instr") && argc == 3) {
		cmd_instr(parse_int(argv[1], 1, MAX_WORKERS),
			  parse_int(argv[2], 1, 100000));
#endif
	} else {
		return -1;
	}
	return 0;
}

/*
 * serve: one command per line on stdin, each answered by its result
 * lines and "end", so that run.py can alternate live processes barrier
 * by barrier.
 */
static void serve(void)
{
	char line[256], *args[8], *save;
	int n;

	while (fgets(line, sizeof(line), stdin)) {
		n = 0;
		for (args[n] = strtok_r(line, " \t\n", &save); args[n] && n < 7;
		     args[++n] = strtok_r(NULL, " \t\n", &save))
			;
		if (n && command(n, args))
			printf("error\n");
		printf("end\n");
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
#ifndef BENCH_PLAIN
	/* The library's call_rcu worker (run.py --library-worker). */
	if (getenv("BENCH_LIBRARY_WORKER"))
		urcu_compat_set_library_worker(1);
#endif
	rcu_register_thread();
	printf("mode %s\n", MODE_NAME);
	fflush(stdout);
	if (!strcmp(argv[1], "serve") && argc == 2)
		serve();
	else if (command(argc - 1, argv + 1))
		usage();
#if BENCH_BARRIERS
	free_workers();
#endif
	rcu_unregister_thread();
	return 0;
}
