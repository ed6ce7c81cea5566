#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shutdown benchmark: the multipathd cleanup with urcu-compat against the
same program written with liburcu alone, in one run.

    python3 bench/shutdown.py [--runs N] [--callbacks N] [--builddir DIR]
                              [--liburcu-version V] [--loader ROOT]

Builds DIR (default build-bench/, meson --buildtype=release) if needed and
runs bench/shutdown.c's three programs, alternating them run by run:
shutdown-plain (liburcu alone: rcu_barrier(), detach, synchronize_rcu(),
call_rcu_data_free(), and pthread_join() where the release's free does not
join: decided here from the release's number), shutdown-compat-native and
shutdown-compat-emul (urcu-compat.h: the four calls of the migration).

Times, medians over the runs: one worker cycle (measured in each process
first), the cleanup (from before rcu_barrier() to the return of the
stop), the cleanup to the end of the process (exit included: the library's
exit barriers and destructor), and the whole process. Ratios against
liburcu alone, and the cleanup in worker cycles. Targets (PASS/MISS):
native cleanup and cleanup-to-exit at most 1.10 of liburcu alone on
liburcu 0.8+; the emulation's cleanup at most two worker cycles (barrier
plus stop, with the grace period and the join between them: below 2.5
cycles) on liburcu 0.7, where liburcu alone has no barrier.

The liburcu the programs run on: the installed one, LD_LIBRARY_PATH's, or
with --loader ROOT the one of an extracted Debian root (its own loader and
libc, as scripts/releases.sh runs liburcu 0.15.x); give its number with
--liburcu-version when it is not the one the build was configured with.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ('plain', 'compat-native', 'compat-emul')


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


def build(builddir):
    if not os.path.exists(os.path.join(builddir, 'build.ninja')):
        subprocess.run(['meson', 'setup', '--buildtype=release', builddir, ROOT],
                       check=True, stdout=subprocess.DEVNULL)
    targets = ['bench/shutdown-' + p for p in PROGRAMS]
    subprocess.run(['meson', 'compile', '-C', builddir] + targets,
                   check=True, stdout=subprocess.DEVNULL)


def build_liburcu_version(builddir):
    """The liburcu the build was configured with (meson's introspection)."""
    out = subprocess.run(['meson', 'introspect', '--dependencies', builddir],
                         check=True, capture_output=True, text=True).stdout
    for dep in json.loads(out):
        if dep.get('name') == 'liburcu' and dep.get('version'):
            return dep['version']
    raise SystemExit('cannot tell the build\'s liburcu release; give --liburcu-version')


def version_tuple(v):
    return tuple(int(x) for x in v.split('.')[:3] if x.isdigit())


def free_joins(version):
    """Whether call_rcu_data_free() joins the worker thread in that release."""
    v = version_tuple(version)
    return v == (0, 12, 5) or v >= (0, 13, 3)


def command(builddir, program, args, loader):
    exe = os.path.join(builddir, 'bench', 'shutdown-' + program)
    if not loader:
        return [exe] + args
    libdirs = [os.path.join(loader, d) for d in
               ('usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu')]
    ld = os.path.join(loader, 'usr/lib64/ld-linux-x86-64.so.2')
    if not os.path.exists(ld):
        ld = os.path.join(loader, 'lib64/ld-linux-x86-64.so.2')
    return [ld, '--library-path', ':'.join(libdirs), exe] + args


def run_once(cmd):
    t0 = time.monotonic_ns()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    t1 = time.monotonic_ns()
    if proc.returncode:
        raise SystemExit('%s: exit status %d\n%s' % (' '.join(cmd), proc.returncode, proc.stderr))
    f = proc.stdout.split()
    vals = dict(zip(f[0::2], f[1::2]))
    return {'cycle': float(vals['cycle_ms']),
            'cleanup': float(vals['cleanup_ms']),
            'to_exit': (t1 - int(vals['start_ns'])) / 1e6,
            'process': (t1 - t0) / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=30)
    ap.add_argument('--callbacks', type=int, default=100)
    ap.add_argument('--builddir', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--liburcu-version')
    ap.add_argument('--loader', help='root of an extracted Debian system')
    ap.add_argument('--no-build', action='store_true')
    a = ap.parse_args()

    if not a.no_build:
        build(a.builddir)
    version = a.liburcu_version or build_liburcu_version(a.builddir)
    old = version_tuple(version) < (0, 8)
    join = free_joins(version)
    args = {'plain': [str(a.callbacks), '0' if join else '1'],
            'compat-native': [str(a.callbacks)], 'compat-emul': [str(a.callbacks)]}
    log('liburcu %s: call_rcu_data_free() %s; %d runs of each program, alternated'
        % (version, 'joins' if join else 'does not join', a.runs))
    res = {p: [] for p in PROGRAMS}
    for i in range(a.runs):
        order = PROGRAMS[i % 3:] + PROGRAMS[:i % 3]
        for p in order:
            res[p].append(run_once(command(a.builddir, p, args[p], a.loader)))

    def med(p, k):
        return statistics.median(r[k] for r in res[p])

    print('liburcu %s, memb flavor, %d callbacks queued, medians of %d runs (ms)'
          % (version, a.callbacks, a.runs))
    print()
    print('| program | worker cycle | cleanup | cleanup to exit | whole process | cleanup in cycles |')
    print('|---|---|---|---|---|---|')
    names = {'plain': 'liburcu alone' + (' (no barrier on 0.7)' if old else ''),
             'compat-native': 'urcu-compat, native mode' + (' (emulation on 0.7)' if old else ''),
             'compat-emul': 'urcu-compat, emulation'}
    for p in PROGRAMS:
        print('| %s | %.2f | %.2f | %.2f | %.2f | %.2f |'
              % (names[p], med(p, 'cycle'), med(p, 'cleanup'), med(p, 'to_exit'),
                 med(p, 'process'), med(p, 'cleanup') / med(p, 'cycle')))
    print()
    ok = True
    rows = []
    if old:
        for p in ('compat-native', 'compat-emul'):
            cycles = med(p, 'cleanup') / med(p, 'cycle')
            # Two cycles, plus a grace period and the join: under half a cycle.
            rows.append(('%s cleanup (barrier + stop), in worker cycles' % names[p],
                         '%.2f' % cycles, '2 cycles (< 2.5)', cycles < 2.5))
    else:
        for k, what in (('cleanup', 'cleanup'), ('to_exit', 'cleanup to exit')):
            r = med('compat-native', k) / med('plain', k)
            rows.append(('native %s / liburcu alone' % what, '%.3f' % r, '<= 1.10', r <= 1.10))
        r = med('compat-emul', 'cleanup') / med('plain', 'cleanup')
        rows.append(('emulation cleanup / liburcu alone (no target)', '%.3f' % r, '', None))
    r = med('compat-native', 'process') / med('plain', 'process')
    rows.append(('whole process, native / liburcu alone (no target)', '%.3f' % r, '', None))
    print('| ratio | value | target | |')
    print('|---|---|---|---|')
    for what, val, target, passed in rows:
        verdict = '' if passed is None else ('PASS' if passed else 'MISS')
        if passed is False:
            ok = False
        print('| %s | %s | %s | %s |' % (what, val, target, verdict))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
