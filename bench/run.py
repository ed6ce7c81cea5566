#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Barrier and call_rcu benchmark: liburcu's rcu_barrier() against the
emulation, on the same liburcu, interleaved in one run.

    python3 bench/run.py [--samples N] [--quick] [--no-callgrind]

Builds build-bench/ (meson setup --buildtype=release) if needed, starts
bench-native, bench-emul and bench-plain once each in "serve" mode and
alternates them measurement by measurement (native, emul, native, emul...
for barriers; plain, emul, native for call_rcu, in rotating order), so that
whatever else runs on the machine hits every mode alike. Prints one table
with the targets and PASS/MISS per target row; exits with status 1 when a
target is missed.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ('native', 'emul', 'plain')


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


def build(builddir):
    """Build the three binaries alone; stdout is for the table only."""
    if not os.path.exists(os.path.join(builddir, 'build.ninja')):
        subprocess.check_call(['meson', 'setup', builddir,
                               '--buildtype=release', '-Dtests=false'],
                              cwd=ROOT, stdout=sys.stderr)
    subprocess.check_call(['meson', 'compile', '-C', builddir] +
                          ['bench/bench-' + m for m in MODES], cwd=ROOT,
                          stdout=sys.stderr)
    return dict((m, os.path.join(builddir, 'bench', 'bench-' + m))
                for m in MODES)


def run(binary, *args):
    out = subprocess.check_output([binary] + [str(a) for a in args],
                                  universal_newlines=True)
    return [line.split() for line in out.splitlines() if line.strip()]


class Server(object):
    """One bench binary in serve mode: a command in, its result lines out."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, 'serve'], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     universal_newlines=True)
        self.mode = self.proc.stdout.readline().split()[-1]

    def ask(self, *args):
        self.proc.stdin.write(' '.join(str(a) for a in args) + '\n')
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError('bench-%s exited' % self.mode)
            f = line.split()
            if f == ['end']:
                return out
            if f == ['error']:
                raise RuntimeError('bench-%s: bad command %r' % (self.mode,
                                                                 args))
            out.append(f)

    def close(self):
        self.proc.stdin.close()
        if self.proc.wait():
            raise RuntimeError('bench-%s failed' % self.mode)


def machine():
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        urcu = subprocess.check_output(['pkg-config', '--modversion', 'liburcu'],
                                       universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        urcu = 'unknown'
    return [('nproc', str(os.cpu_count())),
            ('CPU', model),
            ('kernel', platform.release()),
            ('liburcu', urcu)]


def order(i, modes):
    """Rotate the modes so that none always runs first."""
    k = i % len(modes)
    return list(modes[k:]) + list(modes[:k])


def median(values):
    return statistics.median(values) if values else float('nan')


def callgrind_total(valgrind, binary, args, toggle=None):
    """Instructions counted by callgrind (only inside toggle, if given)."""
    fd, out = tempfile.mkstemp(prefix='bench-callgrind.')
    os.close(fd)
    cmd = [valgrind, '--tool=callgrind', '--callgrind-out-file=' + out]
    if toggle:
        cmd.append('--toggle-collect=' + toggle)
    cmd += [binary] + [str(a) for a in args]
    try:
        subprocess.check_call(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        total = None
        with open(out) as f:
            for line in f:
                if line.startswith('totals:') or (total is None and
                                                  line.startswith('summary:')):
                    total = int(line.split()[1])
        return total
    finally:
        os.unlink(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--builddir', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--no-build', action='store_true',
                    help='use the binaries given by --native/--emul/--plain')
    for m in MODES:
        ap.add_argument('--' + m, help='path of bench-' + m)
    ap.add_argument('--samples', type=int, default=60,
                    help='barriers per mode and worker count (default 60)')
    ap.add_argument('--quick', action='store_true',
                    help='30 barriers, fewer repetitions elsewhere')
    ap.add_argument('--no-callgrind', action='store_true')
    opt = ap.parse_args()

    if opt.no_build:
        bins = dict((m, getattr(opt, m)) for m in MODES)
        if not all(bins.values()):
            ap.error('--no-build needs --native, --emul and --plain')
    else:
        bins = build(os.path.abspath(opt.builddir))

    samples = 30 if opt.quick else opt.samples
    lat_workers = (1, 4, 16)
    conc = (16, 20, 4)          # threads, barriers each, workers
    conc_runs = 4 if opt.quick else 8
    # Short enough to run while the worker sleeps (10 ms), timed on the
    # calling thread's CPU clock: the best of 5, median over the processes.
    cr_calls, cr_reps = 100000, 5
    cr_turns = 10 if opt.quick else 40
    kinds = ('default', 'own', 'percpu')
    load_before = os.getloadavg()

    lat = dict(((m, w), []) for m in MODES for w in lat_workers)
    floor = dict(((m, w), []) for m in MODES for w in lat_workers)
    after = dict(((m, w), []) for m in MODES for w in lat_workers)
    lat_allocs = dict(((m, w), []) for m in MODES for w in lat_workers)
    conc_ns = dict((m, []) for m in MODES)
    conc_allocs = dict((m, []) for m in MODES)
    cr = dict(((m, kind), []) for m in MODES for kind in kinds)

    barrier_modes = ('native', 'emul')
    srv = dict((m, Server(bins[m])) for m in barrier_modes)
    for w in lat_workers:
        log('latency, %d workers' % w)
        for m in barrier_modes:
            srv[m].ask('latency', w, 1, 2)      # new workers, warm-up
        for i in range(samples):
            for m in order(i, barrier_modes):
                for f in srv[m].ask('latency', w, 1, 0):
                    lat[m, w].append(int(f[2]))
                    floor[m, w].append(int(f[3]))
                    after[m, w].append(int(f[4]))
                    lat_allocs[m, w].append(int(f[5]))
    log('concurrent callers')
    for i in range(conc_runs):
        for m in order(i, barrier_modes):
            for f in srv[m].ask('concurrent', *conc):
                conc_ns[m].append(int(f[4]))
                conc_allocs[m].append(int(f[5]))
    for m in barrier_modes:
        srv[m].close()
    # A fresh process per measurement: a process keeps the speed it drew
    # (placement, address layout), and once the emulation has seen the
    # default worker, call_rcu() no longer looks for it.
    for j, kind in enumerate(kinds):
        log('call_rcu, %s' % kind)
        modes = MODES if kind == 'default' else ('plain', 'emul')
        for i in range(cr_turns):
            for m in order(i + j, modes):
                cr[m, kind].append(max(float(f[3]) for f in run(
                    bins[m], 'callrcu', 1, cr_calls, cr_reps, kind)
                    if f[0] == 'callrcu'))

    instr = {}
    valgrind = shutil.which('valgrind')
    if valgrind and not opt.no_callgrind:
        log('callgrind')
        for w in (1, 16):
            for m in ('native', 'emul'):
                caller = callgrind_total(valgrind, bins[m], ('instr', w, 20),
                                         'bench_barrier_once')
                lo = callgrind_total(valgrind, bins[m], ('instr', w, 10))
                hi = callgrind_total(valgrind, bins[m], ('instr', w, 30))
                instr[m, w, 'caller'] = caller / 20.0
                instr[m, w, 'all'] = (hi - lo) / 20.0
        # Two repetitions of 20000 calls: the warm-up and one more.
        for kind in kinds:
            for m in MODES:
                n = callgrind_total(valgrind, bins[m],
                                    ('callrcu', 1, 20000, 1, kind),
                                    'bench_call_rcu_many')
                instr[m, kind] = n / 40000.0

    # ---------------------------------------------------------------- table
    rows = []
    missed = False

    def row(label, base, emul, ratio_target=None, unit_fmt='%.3f',
            verdict=None):
        nonlocal missed
        ratio = emul / base if base else float('nan')
        if verdict is None and ratio_target is not None:
            op, lim = ratio_target
            verdict = ratio <= lim if op == '<=' else ratio >= lim
        target = '%s %.2f' % ratio_target if ratio_target else ''
        if isinstance(verdict, tuple):
            target, verdict = verdict
        result = '' if verdict is None else ('PASS' if verdict else 'MISS')
        if verdict is False:
            missed = True
        rows.append((label, unit_fmt % base, unit_fmt % emul,
                     '%.3f' % ratio if base else '-', target, result))

    n_lat = samples
    rows.append(('-- barrier: baseline = liburcu rcu_barrier() (bench-native), '
                 'emulated = bench-emul',))
    for w in lat_workers:
        row('latency, 1 pending cb on each of %2d workers, median ms' % w,
            median(lat['native', w]) / 1e6, median(lat['emul', w]) / 1e6,
            ('<=', 1.05))
    for w in lat_workers:
        row('  floor: those pending callbacks ran, %2d workers, ms' % w,
            median(floor['native', w]) / 1e6,
            median(floor['emul', w]) / 1e6)
    for w in lat_workers:
        row('  return after the last of them ran, %2d workers, ms' % w,
            median(after['native', w]) / 1e6,
            median(after['emul', w]) / 1e6)
    row('%d callers x %d barriers at once, %d workers, median total ms' % conc,
        median(conc_ns['native']) / 1e6, median(conc_ns['emul']) / 1e6,
        ('<=', 1.00))
    row('  the same, per caller per barrier, ms',
        median(conc_ns['native']) / 1e6 / conc[1],
        median(conc_ns['emul']) / 1e6 / conc[1])
    for w in lat_workers:
        a_n = max(lat_allocs['native', w]) / 1.0
        a_e = max(lat_allocs['emul', w]) / 1.0
        row('heap allocations per barrier, %2d workers (max of %d)'
            % (w, n_lat), a_n, a_e, unit_fmt='%.2f',
            verdict=('emul = 0', a_e == 0))
    per = conc[0] * conc[1]
    a_n = max(conc_allocs['native']) / float(per)
    a_e = max(conc_allocs['emul']) / float(per)
    row('heap allocations per barrier, %d concurrent callers' % conc[0],
        a_n, a_e, unit_fmt='%.2f', verdict=('emul = 0', a_e == 0))
    rows.append(('-- call_rcu: baseline = plain liburcu, no urcu-compat.h '
                 '(bench-plain), emulated = bench-emul',))
    what = {'default': 'default worker', 'own': 'own worker',
            'percpu': 'per-CPU workers'}
    for kind in kinds:
        row('call_rcu, 1 thread, %s, Mcalls per CPU-s' % what[kind],
            median(cr['plain', kind]) / 1e6,
            median(cr['emul', kind]) / 1e6, ('>=', 0.97))
    row('  control: header in native mode (emulated column), default',
        median(cr['plain', 'default']) / 1e6,
        median(cr['native', 'default']) / 1e6)
    if instr:
        for kind in kinds:
            row('  instructions per call_rcu, %s (callgrind)' % what[kind],
                instr['plain', kind], instr['emul', kind], unit_fmt='%.0f')
        row('  control: header in native mode (emulated column), '
            'sum of the 3', sum(instr['plain', k] for k in kinds),
            sum(instr['native', k] for k in kinds), unit_fmt='%.0f')
    if instr:
        rows.append(('-- instructions per barrier, no callback pending '
                     '(callgrind): baseline = native, emulated = emul',))
        for w in (1, 16):
            row('instructions, %2d workers, calling thread (toggle-collect)'
                % w, instr['native', w, 'caller'], instr['emul', w, 'caller'],
                unit_fmt='%.0f')
            row('instructions, %2d workers, all threads (30 - 10 barriers)'
                % w, instr['native', w, 'all'], instr['emul', w, 'all'],
                unit_fmt='%.0f')

    print('urcu-compat barrier benchmark, memb flavor')
    print('command: ' + ' '.join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    for k, v in machine():
        print('%-8s %s' % (k + ':', v))
    print('load:    %.2f before, %.2f after (1-minute load average; other '
          'work on the machine shows here)' % (load_before[0],
                                               os.getloadavg()[0]))
    print('samples: barriers alternate native/emulated one by one, %d per '
          'mode and worker count' % samples)
    print('         concurrent callers: %d runs per mode, alternating'
          % conc_runs)
    print('         call_rcu: %d processes per mode in rotating order, each '
          'the best of %d x %d calls' % (cr_turns, cr_reps, cr_calls))
    print("         timed on the calling thread's CPU clock; median over "
          'the processes')
    print()
    head = ('metric', 'baseline', 'emulated', 'ratio', 'target', 'result')
    width = max(len(r[0]) for r in rows if len(r) > 1)
    fmt = '%-' + str(width) + 's  %10s  %10s  %6s  %-8s  %s'
    print(fmt % head)
    for r in rows:
        print(r[0] if len(r) == 1 else fmt % r)
    if not instr:
        print('(callgrind rows skipped: %s)' %
              ('--no-callgrind' if opt.no_callgrind else 'no valgrind'))
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
