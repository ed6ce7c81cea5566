/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What urcu_compat_call_rcu_data_free() costs: the first stop of a
 * process (which, built against liburcu 0.8+ headers, settles whether
 * call_rcu_data_free() joins) against the later ones.
 *
 *   build-bench/bench/free-cost-<flavor>-<mode> [stops]
 *
 * (memb-native, qsbr-emul, ...: the flavor comes from the build's
 * URCU_COMPAT_FLAVOR_* define, through the header.)
 */
#define _GNU_SOURCE
#include <urcu-compat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int i, stops = argc > 1 ? atoi(argv[1]) : 5;
	double t0, first = 0, later = 0;

	rcu_register_thread();
	printf("urcu-compat %s mode, %s flavor\n",
	       urcu_compat_native_barrier() ? "native" : "emulated", URCU_COMPAT_FLAVOR_NAME);
	for (i = 0; i < stops; i++) {
		struct call_rcu_data *crdp = create_call_rcu_data(0, -1);

		if (!crdp)
			return 1;
		synchronize_rcu();
		t0 = now_ms();
		urcu_compat_call_rcu_data_free(crdp);
		t0 = now_ms() - t0;
		printf("stop %d: %.1f ms\n", i + 1, t0);
		if (i)
			later += t0;
		else
			first = t0;
	}
	if (stops > 1)
		printf("first stop: %.1f ms; later stops: %.1f ms on average\n",
		       first, later / (stops - 1));
	rcu_unregister_thread();
	return 0;
}
