#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Barrier and call_rcu benchmark: liburcu's rcu_barrier() against the
emulation, on the same liburcu, interleaved in one run.

    python3 bench/run.py [--samples N] [--quick] [--no-callgrind] [--conc-runs N]

Builds build-bench/ (meson setup --buildtype=release) if needed and
runs three builds of bench/bench.c: bench-plain (liburcu alone, no
urcu-compat.h), bench-native (the header in native mode) and bench-emul
(the header in emulation mode). Barriers alternate the three live
processes ("serve" mode) one barrier at a time; call_rcu runs a fresh
process per measurement, in rotating order; so whatever else runs on the
machine hits every mode alike. Prints one table with the targets (on
emulated against liburcu alone) and PASS/MISS per target row; exits with
status 1 when a target is missed.
"""

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ('plain', 'native', 'emul')   # the table's column order


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


def bootstrap_ci(values, rounds=5000):
    """95% confidence interval of the mean, by resampling (fixed seed)."""
    rng = random.Random(1)
    means = sorted(statistics.mean([rng.choice(values) for _ in values])
                   for _ in range(rounds))
    return means[rounds // 40], means[rounds - 1 - rounds // 40]


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
    ap.add_argument('--library-worker', action='store_true',
                    help='native and emulated call urcu_compat_set_library_worker(1) '
                         '(BENCH_LIBRARY_WORKER=1 in their environment)')
    ap.add_argument('--conc-runs', type=int,
                    help='runs per mode of the concurrent callers '
                    '(default 30, 10 with --quick)')
    opt = ap.parse_args()
    if opt.library_worker:
        os.environ['BENCH_LIBRARY_WORKER'] = '1'    # bench-plain ignores it

    if opt.no_build:
        bins = dict((m, getattr(opt, m)) for m in MODES)
        if not all(bins.values()):
            ap.error('--no-build needs --native, --emul and --plain')
    else:
        bins = build(os.path.abspath(opt.builddir))

    samples = 30 if opt.quick else opt.samples
    lat_workers = (1, 4, 16)
    conc = (16, 20, 4)          # threads, barriers each, workers
    # Each run is a whole number of ~10.3 ms worker cycles, plus a 10 ms
    # stall now and then inside liburcu (a grace-period waiter that polls):
    # enough runs for the median to settle.
    conc_runs = opt.conc_runs or (10 if opt.quick else 30)
    # Short enough to run while the worker sleeps (10 ms), timed on the
    # calling thread's CPU clock: the best of 5, median over the processes.
    cr_calls, cr_reps = 100000, 5
    cr_turns = 10 if opt.quick else 30
    kinds = ('default', 'own', 'percpu')
    load_before = os.getloadavg()

    def table(*keys):
        return dict((k, []) for k in keys)
    lat = table(*[(m, w) for m in MODES for w in lat_workers])
    floor = table(*lat.keys())
    after = table(*lat.keys())
    lat_allocs = table(*lat.keys())
    conc_ns = table(*MODES)
    conc_allocs = table(*MODES)
    cr = table(*[(m, k) for m in MODES for k in kinds])

    # Barriers: one live process per mode, alternating barrier by barrier.
    srv = dict((m, Server(bins[m])) for m in MODES)
    for w in lat_workers:
        log('latency, %d workers' % w)
        for m in MODES:
            srv[m].ask('latency', w, 1, 2)      # new workers, warm-up
        for i in range(samples):
            for m in order(i, MODES):
                for f in srv[m].ask('latency', w, 1, 0):
                    lat[m, w].append(int(f[2]))
                    floor[m, w].append(int(f[3]))
                    after[m, w].append(int(f[4]))
                    lat_allocs[m, w].append(int(f[5]))
    log('concurrent callers')
    for i in range(conc_runs):
        for m in order(i, MODES):
            for f in srv[m].ask('concurrent', *conc):
                conc_ns[m].append(int(f[4]))
                conc_allocs[m].append(int(f[5]))
    for m in MODES:
        srv[m].close()

    # call_rcu: a fresh process per measurement. A process keeps the speed
    # it drew (placement, address layout), and once the emulation has seen
    # the default worker, call_rcu() no longer looks for it.
    for j, kind in enumerate(kinds):
        log('call_rcu, %s' % kind)
        for i in range(cr_turns):
            for m in order(i + j, MODES):
                cr[m, kind].append(max(float(f[3]) for f in run(
                    bins[m], 'callrcu', 1, cr_calls, cr_reps, kind)
                    if f[0] == 'callrcu'))

    instr = {}
    valgrind = shutil.which('valgrind')
    if valgrind and not opt.no_callgrind:
        log('callgrind')
        for w in (1, 16):
            for m in MODES:
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
    missed = [False]

    def row(label, values, fmt='%.3f', target=None, verdict=None,
            ratios=None):
        """values: plain, native, emul. target: (op, limit) on emul/plain,
        or verdict: (text, bool) for anything else. ratios: emul/plain and
        native/plain when not the ratios of the values."""
        p, n, e = values
        r_e = e / p if p else None
        r_n = n / p if p else None
        if ratios:
            r_e, r_n = ratios
        text = ''
        if target:
            op, lim = target
            text = '%s %.2f' % target
            verdict = r_e <= lim if op == '<=' else r_e >= lim
        elif verdict:
            text, verdict = verdict
        result = '' if verdict is None else ('PASS' if verdict else 'MISS')
        if verdict is False:
            missed[0] = True
        rows.append((label, fmt % p, fmt % n, fmt % e,
                     '-' if r_e is None else '%.3f' % r_e,
                     '-' if r_n is None else '%.3f' % r_n, text, result))

    def med(d, *key):
        return tuple(median(d[(m,) + key] if key else d[m]) for m in MODES)

    def scaled(values, k):
        return tuple(v * k for v in values)

    rows.append(('-- rcu_barrier() with one callback pending on each worker: '
                 'median ms',))
    for w in lat_workers:
        row('latency, %2d workers' % w, scaled(med(lat, w), 1e-6),
            target=('<=', 1.05))
    for w in lat_workers:
        row('  floor: pending callbacks ran, %2d workers' % w,
            scaled(med(floor, w), 1e-6))
    for w in lat_workers:
        row('  returned after the floor, %2d workers' % w,
            scaled(med(after, w), 1e-6))
    rows.append(('-- %d threads x %d rcu_barrier() at once, %d workers: '
                 'median ms' % conc,))
    row('total time', scaled(med(conc_ns), 1e-6), target=('<=', 1.00))
    row('  mean of the runs', tuple(statistics.mean(conc_ns[m]) * 1e-6
                                    for m in MODES))
    row('  per caller per barrier', scaled(med(conc_ns), 1e-6 / conc[1]))
    rows.append(('-- heap allocations per rcu_barrier(), steady state '
                 '(most seen)',))
    for w in lat_workers:
        v = tuple(float(max(lat_allocs[m, w])) for m in MODES)
        row('%2d workers, %d barriers' % (w, samples), v, fmt='%.2f',
            verdict=('emul = 0', v[2] == 0))
    v = tuple(max(conc_allocs[m]) / float(conc[0] * conc[1]) for m in MODES)
    row('%d concurrent callers' % conc[0], v, fmt='%.2f',
        verdict=('emul = 0', v[2] == 0))
    rows.append(('-- call_rcu(), 1 thread: Mcalls per CPU-second, median',))
    what = {'default': 'default worker', 'own': 'own worker',
            'percpu': 'per-CPU workers'}
    for kind in kinds:
        # The processes of one turn ran back to back: ratios per turn.
        paired = tuple(median([a / b for a, b in zip(cr[m, kind],
                                                      cr['plain', kind])])
                       for m in ('emul', 'native'))
        row(what[kind], scaled(med(cr, kind), 1e-6), target=('>=', 0.97),
            ratios=paired)
    if instr:
        rows.append(('-- instructions (callgrind)',))
        for kind in kinds:
            row('per call_rcu(), %s' % what[kind],
                tuple(instr[m, kind] for m in MODES), fmt='%.0f')
        for w in (1, 16):
            row('per rcu_barrier(), no callback pending, %2d workers, '
                'calling thread' % w,
                tuple(instr[m, w, 'caller'] for m in MODES), fmt='%.0f')
            row('per rcu_barrier(), no callback pending, %2d workers, '
                'all threads' % w,
                tuple(instr[m, w, 'all'] for m in MODES), fmt='%.0f')

    print('urcu-compat barrier benchmark, memb flavor')
    print('command: ' + ' '.join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    for k, v in machine():
        print('%-8s %s' % (k + ':', v))
    print('load:    %.2f before, %.2f after (1-minute load average; other '
          'work on the machine shows here)' % (load_before[0],
                                               os.getloadavg()[0]))
    print('columns: liburcu = bench-plain, no urcu-compat.h; native = '
          'urcu-compat.h in native mode;')
    print('         emulated = urcu-compat.h in emulation mode; targets '
          'apply to emul/lib')
    print('samples: barriers alternate the three processes one by one, %d '
          'per mode and worker count' % samples)
    print('         concurrent callers: %d runs per mode, alternating'
          % conc_runs)
    print('         call_rcu: %d processes per mode in rotating order, each '
          'the best of %d x %d calls' % (cr_turns, cr_reps, cr_calls))
    print("         timed on the calling thread's CPU clock; median over "
          'the processes;')
    print('         its ratios: median of the ratios within each turn')
    print()
    head = ('metric', 'liburcu', 'native', 'emulated', 'emul/lib',
            'nat/lib', 'target', 'result')
    width = max(len(r[0]) for r in rows if len(r) > 1)
    fmt = '%-' + str(width) + 's  %8s  %8s  %8s  %8s  %7s  %-8s  %s'
    print((fmt % head).rstrip())
    for r in rows:
        print(r[0] if len(r) == 1 else (fmt % r).rstrip())
    # The runs of one turn ran back to back: their differences pair up.
    diff = [(e - p) * 1e-6 for e, p in zip(conc_ns['emul'], conc_ns['plain'])]
    lo, hi = bootstrap_ci(diff)
    print('concurrent callers, emulated - liburcu per run: mean %+.2f ms, '
          '95%% CI [%+.2f, %+.2f] (bootstrap, %d pairs)'
          % (statistics.mean(diff), lo, hi, len(diff)))
    if not instr:
        print('(callgrind rows skipped: %s)' %
              ('--no-callgrind' if opt.no_callgrind else 'no valgrind'))
    return 1 if missed[0] else 0


if __name__ == '__main__':
    sys.exit(main())
