/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flavor.h - the liburcu flavor header of the examples, then urcu-compat.h.
 *
 * An application includes its one flavor header and urcu-compat.h; the
 * examples, which the build compiles once per flavor from the same
 * source, let urcu-compat.h include the one named by the defines the
 * tests use (URCU_COMPAT_FLAVOR_MB, _SIGNAL, _QSBR, _BP; none: <urcu.h>).
 */
#ifndef EXAMPLES_FLAVOR_H
#define EXAMPLES_FLAVOR_H

/* urcu-compat.h includes the flavor header URCU_COMPAT_FLAVOR_* names. */
#include <urcu-compat.h>

#endif /* EXAMPLES_FLAVOR_H */
