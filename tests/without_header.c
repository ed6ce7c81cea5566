/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liburcu's own calls, made as by code that never included urcu-compat.h:
 * the header only chooses the flavor here (URCU_COMPAT_BUILDING_LIBRARY
 * leaves liburcu's names unmapped). Built into every C test with the
 * harness.
 */
#define URCU_COMPAT_BUILDING_LIBRARY
#include <urcu-compat.h>

#include "harness.h"

struct call_rcu_data *create_worker_without_header(void)
{
	return create_call_rcu_data(0, -1);
}
