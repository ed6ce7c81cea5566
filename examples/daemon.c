/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon.c - a multipathd-style daemon, written once for every liburcu
 * release, with no #if.
 *
 * The main thread has a call_rcu worker of its own, so that it can be
 * stopped and its thread joined at exit. Reader threads look at the
 * current configuration under rcu_read_lock(); the main thread reloads
 * it with rcu_xchg_pointer() and frees the old one through call_rcu().
 * SIGTERM or SIGINT end the main loop; an atexit() handler runs the
 * pending callbacks, stops the worker and frees the last configuration,
 * so that a leak checker finds nothing.
 *
 * usage: daemon [--reloads N] [--readers N] [--interval-ms MS]
 *   --reloads N      raise SIGTERM after N reloads (default 0: run until
 *                    SIGTERM or SIGINT)
 *   --readers N      reader threads (default 4, at most 64)
 *   --interval-ms MS time between reloads (default 20)
 *
 * QSBR: the threads go offline whenever they block, with
 * rcu_thread_offline()/rcu_thread_online(), which every other flavor
 * provides as no-ops.
 */
#define _GNU_SOURCE
#include "flavor.h"	/* the flavor header, then <urcu-compat.h> */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_READERS	64
#define CONF_MAGIC	0x6d706174UL

struct config {
	struct rcu_head rcu;
	unsigned long generation;
	unsigned int checkint;		/* path checker interval */
	unsigned int max_checkint;
	char *name;			/* allocated on its own, freed with it */
	unsigned long check;		/* readers verify it: no use after free */
};

struct reader {
	pthread_t tid;
	unsigned long reads;
	unsigned long bad;
	unsigned long last_generation;
};

/* The current configuration, replaced by the main thread only. */
static struct config *conf;

static volatile sig_atomic_t exit_requested;
static int readers_stop;
static struct call_rcu_data *main_worker;
static unsigned long configs_retired, configs_freed;
static int cleanup_failed;

static unsigned long config_check(const struct config *c)
{
	return c->generation ^ c->checkint ^ c->max_checkint ^ CONF_MAGIC;
}

static struct config *new_config(unsigned long generation)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->name = malloc(32);
	if (!c->name) {
		free(c);
		return NULL;
	}
	snprintf(c->name, 32, "multipath.conf #%lu", generation);
	c->generation = generation;
	c->checkint = 5 + generation % 10;
	c->max_checkint = 4 * c->checkint;
	c->check = config_check(c);
	return c;
}

static void free_config(struct config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c);
}

static void free_config_rcu(struct rcu_head *head)
{
	free_config(caa_container_of(head, struct config, rcu));
	uatomic_inc(&configs_freed);
}

static void nap(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	/* A signal cuts it short: the caller looks at its flags again. */
	nanosleep(&ts, NULL);
}

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	struct config *c;

	rcu_register_thread();
	while (!CMM_LOAD_SHARED(readers_stop)) {
		rcu_read_lock();
		c = rcu_dereference(conf);
		if (c) {
			r->reads++;
			if (c->check != config_check(c) || !c->name ||
			    c->generation < r->last_generation)
				r->bad++;
			r->last_generation = c->generation;
		}
		rcu_read_unlock();
		rcu_thread_offline();
		nap(1);
		rcu_thread_online();
	}
	rcu_unregister_thread();
	return NULL;
}

/* Install a new configuration; the old one goes when no reader sees it. */
static int reload(unsigned long generation)
{
	struct config *c = new_config(generation), *old;

	if (!c)
		return -ENOMEM;
	old = rcu_xchg_pointer(&conf, c);
	if (old) {
		configs_retired++;
		call_rcu(&old->rcu, free_config_rcu);
	}
	return 0;
}

/* atexit(): run what is queued, stop the worker, free what is left. */
static void cleanup(void)
{
	struct config *last;

	rcu_barrier();
	if (uatomic_read(&configs_freed) != configs_retired) {
		fprintf(stderr, "daemon: %lu of %lu old configurations freed after rcu_barrier()\n",
			uatomic_read(&configs_freed), configs_retired);
		cleanup_failed = 1;
	}
	set_thread_call_rcu_data(NULL);
	last = rcu_xchg_pointer(&conf, NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(main_worker);
	main_worker = NULL;
	free_config(last);
	rcu_unregister_thread();
	printf("daemon: %lu old configurations freed through call_rcu, worker stopped\n",
	       configs_retired);
	fflush(stdout);
	if (cleanup_failed)
		_exit(EXIT_FAILURE);
}

static void on_signal(int sig)
{
	(void)sig;
	exit_requested = 1;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--reloads N] [--readers N] [--interval-ms MS]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct reader readers[MAX_READERS];
	unsigned long reloads = 0, nr_readers = 4, interval_ms = 20;
	unsigned long generation = 0, reads = 0, bad = 0;
	int failed = 0, ret;
	struct sigaction sa;
	sigset_t mask, old_mask;
	unsigned long i;

	for (i = 1; i < (unsigned long)argc; i++) {
		unsigned long *opt;

		if (!strcmp(argv[i], "--reloads"))
			opt = &reloads;
		else if (!strcmp(argv[i], "--readers"))
			opt = &nr_readers;
		else if (!strcmp(argv[i], "--interval-ms"))
			opt = &interval_ms;
		else
			usage(argv[0]);
		if (++i == (unsigned long)argc ||
		    parse_uint(argv[i], opt == &nr_readers ? MAX_READERS : 1000000, opt))
			usage(argv[0]);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Threads started from here on leave SIGTERM and SIGINT to main. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, &old_mask);

	rcu_register_thread();
	main_worker = create_call_rcu_data(0, -1);
	if (!main_worker) {
		perror("daemon: create_call_rcu_data");
		return EXIT_FAILURE;
	}
	set_thread_call_rcu_data(main_worker);
	if (atexit(cleanup)) {
		fprintf(stderr, "daemon: atexit failed\n");
		return EXIT_FAILURE;
	}
	if (reload(++generation))
		exit(EXIT_FAILURE);

	memset(readers, 0, sizeof(readers));
	for (i = 0; i < nr_readers; i++) {
		ret = pthread_create(&readers[i].tid, NULL, reader_thread, &readers[i]);
		if (ret) {
			fprintf(stderr, "daemon: pthread_create: %s\n", strerror(ret));
			nr_readers = i;
			failed = 1;
			exit_requested = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

	printf("daemon: %s flavor, %s, %lu readers, pid %ld\n",
	       URCU_COMPAT_FLAVOR_NAME,
	       urcu_compat_native_barrier() ? "native rcu_barrier()" : "emulated rcu_barrier()",
	       nr_readers, (long)getpid());
	fflush(stdout);

	while (!exit_requested) {
		rcu_thread_offline();
		nap((unsigned int)interval_ms);
		rcu_thread_online();
		if (exit_requested)
			break;
		if (reload(++generation)) {
			fprintf(stderr, "daemon: reload failed\n");
			failed = 1;
			break;
		}
		if (reloads && generation - 1 >= reloads)
			raise(SIGTERM);
	}

	CMM_STORE_SHARED(readers_stop, 1);
	rcu_thread_offline();
	for (i = 0; i < nr_readers; i++) {
		pthread_join(readers[i].tid, NULL);
		reads += readers[i].reads;
		bad += readers[i].bad;
	}
	rcu_thread_online();
	printf("daemon: %lu reloads, %lu reads by %lu readers, %lu inconsistent\n",
	       generation - 1, reads, nr_readers, bad);
	return failed || bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
