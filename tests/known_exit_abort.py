#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a C test on liburcu 0.7's signal flavor: a known failure.

    known_exit_abort.py PROGRAM [ARGS...]

liburcu 0.7's signal flavor aborts at exit in every process that used
call_rcu() (rcu_exit_sig: Assertion `cds_list_empty(&registry)' failed:
its call_rcu workers are registered readers that never stop). That is
liburcu's bug. There the test is built with exit_abort.c, which reports
that abort with a marker and keeps the exit status, and meson registers
this script with should_fail. So this script exits with:
  1 (EXPECTEDFAIL) when the test passed, exit status 0, and liburcu's
    abort at exit happened: the known failure and nothing else;
  0 (UNEXPECTEDPASS, which meson counts as a failure) otherwise: a case
    failed, the test crashed or was killed, or it ran clean without the
    abort (liburcu fixed: then drop the should_fail).
"""
import subprocess
import sys

MARKER = '# known liburcu 0.7 signal abort at exit'


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    p = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, universal_newlines=True)
    sys.stderr.write(p.stderr)
    sys.stderr.flush()
    aborted = MARKER in p.stderr
    if p.returncode == 0 and aborted:
        print('known failure: every case passed; liburcu 0.7 (signal flavor) '
              'aborted at exit, as it does in every program that used call_rcu()')
        sys.exit(1)
    if p.returncode != 0:
        print('FAIL: %s ended with %s (shown as an unexpected pass: a real failure)'
              % (sys.argv[1], 'exit status %d' % p.returncode if p.returncode > 0
                 else 'signal %d' % -p.returncode))
    else:
        print('FAIL: liburcu did not abort at exit: the known failure is gone, '
              'drop should_fail for it in tests/meson.build')
    sys.exit(0)


if __name__ == '__main__':
    main()
