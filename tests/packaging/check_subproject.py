#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The subproject way: a meson project with urcu-compat in subprojects/.

    check_subproject.py MESON SOURCE_ROOT WORK_DIR MODE [--known-exit-abort=signal]

Copies consumer/ into WORK_DIR, links this source tree in as its
subprojects/urcu-compat, then meson setup (with --wrap-mode=forcefallback,
so that an installed urcu-compat is not picked instead; for the emul mode
with -Durcu-compat:force_emulation=true), meson compile, and runs the
consumer program of every flavor, which must report the mode the header
decides (flavors.header_decision()). Works offline: nothing is
downloaded. The option: liburcu 0.7's signal flavor, whose abort at exit
makes the test a known failure (flavors.main_expecting()).
"""
import glob
import os
import shutil
import sys

from flavors import KnownExitAbort, check_program, header_decision, known_abort_option, \
    main_expecting, mode_name, run, work_dir

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv, known):
    if len(argv) != 5:
        sys.exit(__doc__)
    meson, root, work, mode = argv[1:]
    work = work_dir(os.path.abspath(work))
    src = os.path.join(work, 'consumer')
    build = os.path.join(work, 'build')
    shutil.copytree(os.path.join(HERE, 'consumer'), src)
    os.mkdir(os.path.join(src, 'subprojects'))
    os.symlink(os.path.abspath(root), os.path.join(src, 'subprojects', 'urcu-compat'))

    run([meson, 'setup', build, src, '--fatal-meson-warnings',
         '--wrap-mode=forcefallback',
         '-Durcu-compat:force_emulation=' + ('true' if mode == 'emul' else 'false')])
    run([meson, 'compile', '-C', build])

    failed = []
    if os.path.exists(os.path.join(build, 'subprojects', 'urcu-compat', 'examples')):
        failed.append('the subproject built its examples')
    programs = sorted(p for p in glob.glob(os.path.join(build, 'consumer-*'))
                      if os.path.isfile(p) and os.access(p, os.X_OK))
    names = [os.path.basename(p) for p in programs]
    if 'consumer-memb' not in names:
        failed.append('no consumer-memb program')
    aborted = []
    for prog in programs:
        flavor = os.path.basename(prog)[len('consumer-'):]
        _, native, _ = header_decision(flavor, mode, os.path.join(root, 'include'))
        verdict = check_program([prog, mode_name(native)], flavor in known)
        if verdict == 'failed':
            failed.append('%s failed' % os.path.basename(prog))
        elif verdict == 'known':
            aborted.append(os.path.basename(prog))
    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('subproject (%s mode): %s built and ran' % (mode, ', '.join(names)))
    if aborted:
        raise KnownExitAbort('liburcu 0.7 aborted at exit in %s' % ', '.join(aborted))


if __name__ == '__main__':
    ARGV, KNOWN = known_abort_option(sys.argv)
    main_expecting(lambda: main(ARGV, KNOWN), bool(KNOWN))
