/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * program.c - the program the packaging tests build in each way urcu-compat
 * is used (installed, drop-in, from C++). The file that includes it has
 * selected the flavor (and the mode, if forced) the way a user does:
 *
 *	#include <urcu-qsbr.h>
 *	#include "program.c"
 *
 * Usage: app native|emul FLAVOR - checks that the header decided that mode
 * and flavor (the test reads them from the header with the preprocessor:
 * on liburcu 0.7 the default is the emulation), that the library agrees,
 * and that rcu_barrier(), urcu_compat_barrier() and
 * urcu_compat_barrier_timeout() wait for callbacks on the default worker
 * and on a worker of the program's own, which it then stops.
 * Valid C99 and C++.
 */
#include <stdio.h>
#include <string.h>
#include "urcu-compat.h"

static int ran;
static struct rcu_head heads[3];

static void count_cb(struct rcu_head *head)
{
	(void)head;
	uatomic_inc(&ran);
}

static int check(int ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "FAIL: %s\n", what);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = URCU_COMPAT_NATIVE_BARRIER ? "native" : "emul";
	struct call_rcu_data *crdp;
	int failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s native|emul FLAVOR\n", argv[0]);
		return 2;
	}
	printf("urcu-compat %d.%d.%d (library 0x%06x), flavor %s, mode %s\n",
	       URCU_COMPAT_VERSION_MAJOR, URCU_COMPAT_VERSION_MINOR,
	       URCU_COMPAT_VERSION_PATCH, (unsigned int)urcu_compat_version(),
	       URCU_COMPAT_FLAVOR_NAME, mode);
	failed |= check(!strcmp(argv[1], mode), "mode");
	failed |= check(!strcmp(argv[2], URCU_COMPAT_FLAVOR_NAME), "flavor");
	failed |= check(urcu_compat_native_barrier() == URCU_COMPAT_NATIVE_BARRIER,
			"the library's mode is the header's");
	failed |= check(urcu_compat_version() == URCU_COMPAT_VERSION,
			"the library's version is the header's");
	if (failed)
		return 1;

	rcu_register_thread();

	/* No worker of its own: the default (or a per-CPU) worker. */
	call_rcu(&heads[0], count_cb);
	rcu_barrier();
	failed |= check(uatomic_read(&ran) == 1, "rcu_barrier() waited for the callback");

	crdp = create_call_rcu_data(0, -1);
	failed |= check(crdp != NULL, "create_call_rcu_data()");
	if (failed)
		return 1;
	set_thread_call_rcu_data(crdp);
	call_rcu(&heads[1], count_cb);
	failed |= check(urcu_compat_barrier() == 0, "urcu_compat_barrier() returns 0");
	failed |= check(uatomic_read(&ran) == 2, "urcu_compat_barrier() waited for the callback");
	call_rcu(&heads[2], count_cb);
	failed |= check(urcu_compat_barrier_timeout(10000) == 0,
			"urcu_compat_barrier_timeout() returns 0");
	failed |= check(uatomic_read(&ran) == 3,
			"urcu_compat_barrier_timeout() waited for the callback");

	set_thread_call_rcu_data(NULL);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);

	rcu_unregister_thread();
	if (!failed)
		printf("ok\n");
	/* Out before the destructors: liburcu 0.7's signal flavor aborts there. */
	fflush(stdout);
	return failed;
}
