#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exit under a stuck default worker: hangs and exit time, per build.

    bench/exit_hang.py BUILDDIR [--runs N] [--keys memb-native,...]

Runs tests/test_exit's scenario "blocked-in-exit-batch" (a callback that
never returns in the same worker batch as the exit barrier's rendezvous,
exit bound 200 ms) N times per flavor and mode, each under `timeout 5`,
alternated with a baseline program that sleeps 200 ms and exits, so that
machine load shows in both columns alike. A run that does not end within
5 s is a hang. Exit time: from the scenario's "T <ms>" line (CLOCK_MONOTONIC,
taken just before main returns) to the end of the process.

The liburcu the binaries run on is whatever the loader finds: point
LD_LIBRARY_PATH at another release to measure it there (same soname).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

BASELINE = r'''
#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec ts, d = { 0, 200000000L };
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("T %.3f\n", ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0);
	fflush(stdout);
	nanosleep(&d, NULL);
	return 0;
}
'''
BOUND_MS = 200
LATE_MS = BOUND_MS + 50


def one(cmd):
    """Exit time in ms, or None for a hang or a failure."""
    p = subprocess.run(['timeout', '5'] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    end = time.monotonic_ns()
    if p.returncode != 0:
        return None
    t = [l for l in p.stdout.decode().splitlines() if l.startswith('T ')]
    if not t:
        return None
    return end / 1e6 - float(t[0].split()[1])


def describe(ts):
    if not ts:
        return 'no run ended'
    ts = sorted(ts)
    return 'median %.1f, max %.1f, over %d ms: %d' % (
        ts[len(ts) // 2], ts[-1], LATE_MS, sum(t > LATE_MS for t in ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('builddir')
    ap.add_argument('--runs', type=int, default=200)
    ap.add_argument('--keys', default='')
    args = ap.parse_args()
    tests = os.path.join(args.builddir, 'tests')
    keys = [k for k in args.keys.split(',') if k] or sorted(
        f[len('test_exit-'):] for f in os.listdir(tests)
        if f.startswith('test_exit-') and os.access(os.path.join(tests, f), os.X_OK))
    tmp = tempfile.mkdtemp()
    base = os.path.join(tmp, 'baseline')
    with open(base + '.c', 'w') as f:
        f.write(BASELINE)
    subprocess.check_call([os.environ.get('CC', 'cc'), '-O2', '-o', base, base + '.c'])
    hangs_all = 0
    for key in keys:
        prog = os.path.join(tests, 'test_exit-' + key)
        scen, base_t, hangs = [], [], 0
        for _ in range(args.runs):
            a = one([prog, '--scenario', 'blocked-in-exit-batch', '1'])
            b = one([base])
            if a is None:
                hangs += 1
            else:
                scen.append(a)
            if b is not None:
                base_t.append(b)
        hangs_all += hangs
        print('%-14s %d runs, %d hangs or failures; exit ms %s | baseline %s'
              % (key, args.runs, hangs, describe(scen), describe(base_t)), flush=True)
    print('total hangs or failures: %d' % hangs_all)
    return 1 if hangs_all else 0


if __name__ == '__main__':
    sys.exit(main())
