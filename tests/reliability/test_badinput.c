/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad input: bounds of 0 ms and up to UINT_MAX ms, exit barriers asked
 * for many times. (A NULL worker and the default worker given to the
 * worker stop, exit barriers turned off: test_lifecycle.c. A worker freed twice is
 * undefined, as with liburcu's call_rcu_data_free(): the first free
 * released it. It is documented in doc/reliability.md, not run.)
 *
 * fault.c is linked in, but nothing is made to fail here.
 */
#include "../common.h"
#include "fault.h"

#include <limits.h>
#include <sys/mman.h>

/* ---------------------------------------------------------------- */

/* A bound of 0 ms: an answer at once, and nothing broken after it. */
static void test_timeout_zero(void **state)
{
	unsigned long ran = 0;
	double t0;
	int i, ret;

	(void)state;
	t0 = harness_now_ms();
	ret = urcu_compat_barrier_timeout(0);
	assert_true(ret == 0 || ret == -ETIMEDOUT);
	for (i = 0; i < 10; i++)
		queue_counted(&ran);
	ret = urcu_compat_barrier_timeout(0);
	assert_true(ret == 0 || ret == -ETIMEDOUT);
	if (ret == 0)
		assert_int_equal(uatomic_read(&ran), 10);
	printf("# timeout 0: %s, %.1f ms for both\n", ret ? "-ETIMEDOUT" : "0", harness_now_ms() - t0);
	assert_true(harness_now_ms() - t0 < 2000);	/* no wait at all, valgrind or not */
	assert_int_equal(urcu_compat_barrier(), 0);
	assert_int_equal(uatomic_read(&ran), 10);
	assert_int_equal(urcu_compat_barrier_timeout(0) == 0 ||
			 urcu_compat_barrier_timeout(0) == -ETIMEDOUT, 1);
}

/*
 * Bounds up to UINT_MAX ms (49.7 days): the deadline must not wrap into
 * the past (an immediate -ETIMEDOUT) nor become invalid (EINVAL).
 */
static void test_large_timeouts(void **state)
{
	static const unsigned int bounds[] = {
		UINT_MAX, UINT_MAX - 1, UINT_MAX - 999, UINT_MAX / 2 + 1,
		86400000U, 999U, 1000U, 1001U
	};
	unsigned long ran = 0;
	size_t i;
	int j;

	(void)state;
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		for (j = 0; j < 5; j++)
			queue_counted(&ran);
		assert_int_equal(urcu_compat_barrier_timeout(bounds[i]), 0);
		assert_int_equal(uatomic_read(&ran), 5 * (i + 1));
	}
}

static struct gated blocked;

/* A large bound still gives up when told to: the bound is not ignored. */
static void test_large_timeout_with_blocked_worker_still_waits(void **state)
{
	struct call_rcu_data *crdp = create_call_rcu_data(0, -1);
	unsigned long ran = 0;
	double t0;

	(void)state;
	assert_non_null(crdp);
	set_thread_call_rcu_data(crdp);
	block_worker_on(&blocked, NULL);
	queue_counted(&ran);
	set_thread_call_rcu_data(NULL);
	t0 = harness_now_ms();
	assert_int_equal(urcu_compat_barrier_timeout(50), -ETIMEDOUT);
	assert_true(harness_now_ms() - t0 >= 45);	/* it did wait, close to the bound */
	assert_int_equal(urcu_compat_barrier_timeout(0), -ETIMEDOUT);
	gate_open(&blocked.gate);
	assert_int_equal(urcu_compat_barrier_timeout(UINT_MAX), 0);
	assert_int_equal(uatomic_read(&ran), 1);
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);
}

/* ---------------------------------------------------------------- */
/* Exit barriers, in fork() children with liburcu's hooks              */
/* ---------------------------------------------------------------- */

struct exit_report {
	unsigned long chain_ran;
};

static struct exit_report *report;

/* Each link counts itself and queues the next one from its worker. */
struct link {
	struct rcu_head head;
	int left;
};

static void link_cb(struct rcu_head *head)
{
	struct link *l = caa_container_of(head, struct link, head);

	uatomic_inc(&report->chain_ran);
	if (l->left-- > 0)
		call_rcu(&l->head, link_cb);
	else
		free(l);
}

/* Fork, run fn in the child (which exits), time the child's life. */
static double child_exit_ms(int (*fn)(void *))
{
	double t0 = harness_now_ms();

	assert_int_equal(run_in_child(fn, NULL, 0, CHILD_FORK_HOOKS | CHILD_EXITS), 0);
	return harness_now_ms() - t0;
}

#define CHAIN 20
#define LARGE_COUNT 100

static int exit_many_with_chain(void *arg)
{
	struct link *l = calloc(1, sizeof(*l));

	(void)arg;
	if (!l)
		return 1;
	l->left = CHAIN;
	call_rcu(&l->head, link_cb);
	urcu_compat_set_exit_barriers(LARGE_COUNT, 1000);
	return 0;
}

/*
 * A large count: the chain runs to its end. Each barrier costs a worker
 * cycle (about 10 ms) even when nothing is queued any more, so exit
 * takes about count x 10 ms: the figure is printed.
 */
static void test_exit_barriers_large(void **state)
{
	double ms;

	(void)state;
	memset(report, 0, sizeof(*report));
	ms = child_exit_ms(exit_many_with_chain);
	printf("# exit barriers %d, a chain of %d links: exit in %.0f ms (%.1f ms a barrier)\n",
	       LARGE_COUNT, CHAIN + 1, ms, ms / LARGE_COUNT);
	assert_int_equal(report->chain_ran, CHAIN + 1);
}

static int setup(void **state)
{
	report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (report == MAP_FAILED)
		return -1;
	return harness_setup(state);
}

static int teardown(void **state)
{
	int ret = harness_teardown(state);

	munmap(report, sizeof(*report));
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_zero),
		cmocka_unit_test(test_large_timeouts),
		cmocka_unit_test(test_large_timeout_with_blocked_worker_still_waits),
		cmocka_unit_test(test_exit_barriers_large),
	};

	return cmocka_run_group_tests_name("urcu_compat bad input " URCU_COMPAT_FLAVOR_NAME
					   " " TEST_MODE_NAME, tests, setup, teardown);
}
