/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * consumer.c - a program of a project that uses urcu-compat as a meson
 * subproject. Usage: consumer-FLAVOR native|emul
 */
#include <stdio.h>
#include <string.h>

#if defined(CONSUMER_FLAVOR_QSBR)
#include <urcu-qsbr.h>
#elif defined(CONSUMER_FLAVOR_BP)
#include <urcu-bp.h>
#elif defined(CONSUMER_FLAVOR_MB)
#define RCU_MB
#include <urcu.h>
#elif defined(CONSUMER_FLAVOR_SIGNAL)
#define RCU_SIGNAL
#include <urcu.h>
#else
#include <urcu.h>
#endif
#include <urcu-compat.h>

static int ran;
static struct rcu_head heads[2];

static void cb(struct rcu_head *head)
{
	(void)head;
	uatomic_inc(&ran);
}

int main(int argc, char **argv)
{
	const char *mode = URCU_COMPAT_NATIVE_BARRIER ? "native" : "emul";
	int ret;

	printf("consumer: urcu-compat 0x%06x, flavor %s, mode %s\n",
	       (unsigned int)urcu_compat_version(), URCU_COMPAT_FLAVOR_NAME, mode);
	if (argc != 2 || strcmp(argv[1], mode)) {
		fprintf(stderr, "FAIL: expected mode %s\n", argc > 1 ? argv[1] : "?");
		return 1;
	}

	rcu_register_thread();
	call_rcu(&heads[0], cb);
	rcu_barrier();
	if (uatomic_read(&ran) != 1) {
		fprintf(stderr, "FAIL: rcu_barrier() returned before the callback ran\n");
		return 1;
	}
	call_rcu(&heads[1], cb);
	ret = urcu_compat_barrier();
	if (ret || uatomic_read(&ran) != 2) {
		fprintf(stderr, "FAIL: urcu_compat_barrier() returned %d, %d callbacks ran\n",
			ret, uatomic_read(&ran));
		return 1;
	}
	rcu_unregister_thread();
	printf("ok\n");
	/* Out before the destructors: liburcu 0.7's signal flavor aborts there. */
	fflush(stdout);
	return 0;
}
