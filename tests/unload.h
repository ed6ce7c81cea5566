/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by test_unload.c, a program that does not link urcu-compat, and
 * unload_plugin.c, the plugin it loads and unloads, which does. Only the
 * liburcu flavor header here: the program must not see urcu-compat.h.
 */
#ifndef TESTS_UNLOAD_H
#define TESTS_UNLOAD_H

#define _GNU_SOURCE
#if defined(URCU_COMPAT_FLAVOR_QSBR)
#include <urcu-qsbr.h>
#elif defined(URCU_COMPAT_FLAVOR_BP)
#include <urcu-bp.h>
#elif defined(URCU_COMPAT_FLAVOR_SIGNAL)
#define RCU_SIGNAL
#include <urcu.h>
#elif defined(URCU_COMPAT_FLAVOR_MB)
#define RCU_MB
#include <urcu.h>
#else
#include <urcu.h>
#endif

#include <pthread.h>

#include "harness.h"

/* One load of the plugin: what it is asked to do, what it reports. */
struct unload_cycle {
	int work;		/* create a worker, queue on it, barrier, stop it */
	int block;		/* queue blocked_head, then a bounded barrier */
	struct rcu_head *blocked_head;	/* the program's: outlives the plugin */
	void (*blocked_cb)(struct rcu_head *head);
	pthread_t worker;	/* out: the worker's thread (work) */
};

/* Returns 0, or the number of the step that failed. */
typedef int (*unload_cycle_fn)(struct unload_cycle *c);
#define UNLOAD_CYCLE_FN	"unload_plugin_cycle"

#endif
