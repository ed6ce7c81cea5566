/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flavor.h - the liburcu flavor header of the examples, then urcu-compat.h.
 *
 * An application includes its one flavor header and urcu-compat.h; this
 * file is that pair for the examples, which the build compiles once per
 * flavor from the same source, with the defines the tests use
 * (URCU_COMPAT_FLAVOR_MB, _SIGNAL, _QSBR, _BP; none: <urcu.h>).
 */
#ifndef EXAMPLES_FLAVOR_H
#define EXAMPLES_FLAVOR_H

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
#include <urcu-compat.h>

#endif /* EXAMPLES_FLAVOR_H */
