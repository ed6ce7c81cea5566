/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault.h without interposers, for ThreadSanitizer builds: TSan's own
 * allocator and thread interceptors and fault.c's cannot both be in one
 * executable. Nothing fails; arming reports no call reached.
 */
#include "fault.h"

void fault_arm_nth(unsigned int kinds, unsigned long nth)
{
	(void)kinds;
	(void)nth;
}

void fault_arm_random(unsigned int kinds, unsigned int one_in)
{
	(void)kinds;
	(void)one_in;
}

void fault_disarm(void)
{
}

unsigned long fault_calls(void)
{
	return 0;
}

unsigned long fault_injected(void)
{
	return 0;
}

int fault_ready(void)
{
	return 1;
}

int fault_alloc_works(void)
{
	return 0;
}
