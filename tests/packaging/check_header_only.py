#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A program that includes the header and calls nothing from the library
gets the library all the same, and its exit barrier runs.

    check_header_only.py INCLUDE_DIR WORK_DIR FLAVOR MODE SHARED_LIB STATIC_LIB

Builds header_only.c (in app.c) as a user does, with cc and the linker's
defaults (Debian's gcc links --as-needed), with -Wl,--as-needed said
explicitly (for toolchains without that default), as C++, and with
-static: each program must list the library among its NEEDED entries (or
contain it, static), and its exit barrier must have run the 100 callbacks
it left queued, which the last one reports. Each also runs with a callback
that calls exit(), nothing queued behind it: the process must end (a
watchdog far past the exit bound fails it otherwise).
"""
import os
import re
import shutil
import signal
import subprocess
import sys

from flavors import FLAVORS, WARNINGS, app_source, pkg_config, run, work_dir, write

HERE = os.path.dirname(os.path.abspath(__file__))
WATCHDOG_S = 60
ALL_RAN = 'all 100 callbacks ran'


def needed(prog):
    out = run(['readelf', '-d', prog]).stdout
    return re.findall(r'\(NEEDED\)\s+Shared library: \[([^\]]+)\]', out)


def soname(lib):
    out = run(['readelf', '-d', lib]).stdout
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    return m.group(1) if m else None


def run_bounded(d, cmd, env):
    """Run cmd; its output, or None when it was still there at the watchdog."""
    try:
        return run(cmd, cwd=d, env=env, check=False, timeout=WATCHDOG_S)
    except subprocess.TimeoutExpired:
        return None


def check_runs(d, prog, env, ok_status, failed):
    """The exit barrier ran every callback; exit() from a callback ends."""
    out = run_bounded(d, ['./' + prog], env)
    if out is None:
        failed.append('%s: hung at exit (%d s)' % (prog, WATCHDOG_S))
    elif out.returncode not in ok_status or ALL_RAN not in out.stdout:
        failed.append('%s: the exit barrier did not run the queued callbacks' % prog)
    out = run_bounded(d, ['./' + prog, 'exit-from-callback'], env)
    if out is None:
        failed.append('%s: exit() from a callback hung (%d s)' % (prog, WATCHDOG_S))
    elif out.returncode not in ok_status:
        failed.append('%s: exit() from a callback: exit status %d' % (prog, out.returncode))


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    include, work, flavor, mode, shared, static = sys.argv[1:]
    include = os.path.abspath(include)
    work = work_dir(os.path.abspath(work))
    f = FLAVORS[flavor]
    libdir = os.path.dirname(os.path.abspath(shared))
    libname = os.path.basename(shared)[3:].split('.so')[0]
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
        p for p in [libdir, os.environ.get('LD_LIBRARY_PATH')] if p))
    failed = []
    # liburcu 0.7's signal flavor aborts at exit while call_rcu workers are
    # registered, as they are in any program that used call_rcu().
    ok_status = [0]
    if flavor == 'signal' and pkg_config('--modversion', f['urcu'])[0].startswith('0.7.'):
        print('liburcu 0.7 signal flavor: a program may abort at exit (SIGABRT)')
        ok_status.append(-signal.SIGABRT)

    # What pkg-config --cflags --libs liburcu-compat-F gives once installed.
    cflags = ['-I' + include] + pkg_config('--cflags', f['urcu'])
    libs = ['-L' + libdir, '-l' + libname] + pkg_config('--libs', f['urcu'])
    write(os.path.join(work, 'app.c'),
          app_source(flavor, mode, os.path.join(HERE, 'header_only.c')))
    shutil.copy(os.path.join(work, 'app.c'), os.path.join(work, 'app.cpp'))
    builds = [('app', ['cc', '-std=gnu99'], 'app.c', []),
              ('app-as-needed', ['cc', '-std=gnu99'], 'app.c', ['-Wl,--as-needed'])]
    if shutil.which('c++'):
        builds.append(('app-c++', ['c++'], 'app.cpp', []))
    for prog, compiler, src, ldflags in builds:
        run(compiler + WARNINGS + ['-o', prog, src] + cflags + ldflags + libs, cwd=work)
        if soname(shared) not in needed(os.path.join(work, prog)):
            failed.append('%s: %s is not among its NEEDED entries' % (prog, soname(shared)))
        check_runs(work, prog, env, ok_status, failed)

    # What pkg-config --static gives: the library's archive, liburcu's.
    run(['cc', '-static', '-std=gnu99'] + WARNINGS + ['-o', 'app-static', 'app.c'] +
        cflags + [os.path.abspath(static)] + pkg_config('--static', '--libs', f['urcu']) +
        ['-pthread'], cwd=work)
    check_runs(work, 'app-static', env, ok_status, failed)

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('header-only program (%s, %s): linked with the library, exit barrier ran '
          '(shared, --as-needed, C++, static)' % (flavor, mode))


if __name__ == '__main__':
    main()
