/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection for the reliability tests: malloc(), calloc(),
 * pthread_create(), the pthread mutex, condition variable and condition
 * attribute initialisers and pthread_key_create() are interposed by
 * fault.c, linked into the test executable. Only calls made from the
 * urcu-compat library's own code are counted and made to fail; calls
 * from liburcu, libc or the test always go through.
 */
#ifndef TESTS_RELIABILITY_FAULT_H
#define TESTS_RELIABILITY_FAULT_H

#include <pthread.h>

/* What may fail. */
#define FAULT_ALLOC	0x1u	/* malloc, calloc: NULL, errno ENOMEM */
#define FAULT_THREAD	0x2u	/* pthread_create: EAGAIN */
#define FAULT_SYNC	0x4u	/* pthread_{mutex,cond}_init, pthread_condattr_*: ENOMEM */
#define FAULT_KEY	0x8u	/* pthread_key_create: EAGAIN */
#define FAULT_ALL	0xfu

/*
 * Count the library's calls of the given kinds from now on and fail the
 * nth one (1-based; 0: fail none, only count).
 */
void fault_arm_nth(unsigned int kinds, unsigned long nth);

/* Fail each library call of the given kinds with probability 1/one_in. */
void fault_arm_random(unsigned int kinds, unsigned int one_in);

/* Stop failing and counting. */
void fault_disarm(void);

/* Library calls of the armed kinds seen since the last arm. */
unsigned long fault_calls(void);

/* Calls made to fail since the process started (children: inherited). */
unsigned long fault_injected(void);

/* 1 once the library's code was found in memory (arming works). */
int fault_ready(void);

/* 0 under valgrind, whose allocators replace these interposers. */
int fault_alloc_works(void);

#endif
