/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * header_only.c - a program that includes <urcu-compat.h> and calls
 * nothing from the library: it relies on the exit barrier to run the
 * callbacks it leaves queued on the default worker. The last callback
 * says so on standard output; without an exit barrier the process ends
 * first. With an argument, a callback on the default worker calls exit()
 * instead, with nothing queued behind it: the process must still end.
 * The file that includes it selects the flavor (and the mode).
 * Valid C99 and C++.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "urcu-compat.h"

#define CALLBACKS 100

static struct rcu_head heads[CALLBACKS];
static int ran;

static void count_cb(struct rcu_head *head)
{
	static const char msg[] = "all 100 callbacks ran\n";

	(void)head;
	if (uatomic_add_return(&ran, 1) == CALLBACKS &&
	    write(STDOUT_FILENO, msg, strlen(msg)) < 0)
		_exit(3);
}

static void exit_cb(struct rcu_head *head)
{
	(void)head;
	exit(0);
}

int main(int argc, char **argv)
{
	int i;

	(void)argv;
	rcu_register_thread();
	if (argc > 1) {
		call_rcu(&heads[0], exit_cb);
#if URCU_COMPAT_IS_QSBR
		rcu_thread_offline();
#endif
		for (;;)
			pause();
	}
	for (i = 0; i < CALLBACKS; i++)
		call_rcu(&heads[i], count_cb);
	return 0;	/* the exit barrier runs them */
}
