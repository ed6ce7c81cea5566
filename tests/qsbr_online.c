/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_qsbr_online() for the QSBR tests: whether the calling thread is
 * online. liburcu 0.8+ answers with rcu_read_ongoing(); 0.7 has no such
 * call, but its static header (_LGPL_SOURCE) gives the thread's reader
 * state, whose counter is non-zero exactly while the thread is online.
 * A translation unit of its own: the tests include liburcu without
 * _LGPL_SOURCE, as applications usually do.
 */
#define _LGPL_SOURCE
#include <urcu-qsbr.h>

int test_qsbr_online(void);

int test_qsbr_online(void)
{
#ifdef rcu_read_ongoing
	return rcu_read_ongoing();
#else
	return CMM_LOAD_SHARED(URCU_TLS(rcu_reader).ctr) != 0;
#endif
}
