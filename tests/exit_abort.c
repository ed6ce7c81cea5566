/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built into the C tests on liburcu 0.7's signal flavor only.
 *
 * There, liburcu's destructor rcu_exit_sig() asserts that no thread is
 * registered any more, but the call_rcu workers are registered readers
 * that never stop: every process that used call_rcu() aborts at exit.
 * That is liburcu's bug. The tests' processes and their children report
 * through their exit status, which the abort would replace: for that one
 * failed assertion, at exit, this assert handler prints liburcu's message
 * and a marker, then ends the process with the status exit() was given.
 * Every other failed assertion aborts as usual. meson runs these tests
 * through known_exit_abort.py as expected failures: the marker must be
 * there and the status 0.
 *
 * It works because exit() runs the handlers registered with on_exit()
 * (ours, from this executable's constructor) before the shared
 * libraries' destructors, liburcu's among them.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KNOWN_FUNCTION	"rcu_exit_sig"
#define KNOWN_ASSERTION	"cds_list_empty(&registry)"

static volatile int exiting, exit_status;

static void note_exit(int status, void *arg)
{
	(void)arg;
	exit_status = status;
	exiting = 1;
}

__attribute__((constructor)) static void watch_exit(void)
{
	if (on_exit(note_exit, NULL))
		abort();
}

/* glibc's assert() calls it; the executable's definition comes first. */
void __assert_fail(const char *assertion, const char *file, unsigned int line,
		   const char *function)
{
	fprintf(stderr, "%s: %s:%u: %s: Assertion `%s' failed.\n",
		program_invocation_short_name, file, line, function, assertion);
	if (exiting && !strcmp(function, KNOWN_FUNCTION) &&
	    !strcmp(assertion, KNOWN_ASSERTION)) {
		fprintf(stderr, "# known liburcu 0.7 signal abort at exit, exit status %d kept\n",
			exit_status);
		fflush(NULL);
		_exit(exit_status);
	}
	abort();
}
