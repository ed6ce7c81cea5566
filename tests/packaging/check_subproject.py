#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The subproject way: a meson project with urcu-compat in subprojects/.

    check_subproject.py MESON SOURCE_ROOT WORK_DIR MODE

Copies consumer/ into WORK_DIR, links this source tree in as its
subprojects/urcu-compat, then meson setup (with --wrap-mode=forcefallback,
so that an installed urcu-compat is not picked instead; for the emul mode
with -Durcu-compat:force_emulation=true), meson compile, and runs the
consumer program of every flavor. Works offline: nothing is downloaded.
"""
import glob
import os
import shutil
import sys

from flavors import run, work_dir

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    meson, root, work, mode = sys.argv[1:]
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
    for prog in programs:
        p = run([prog, mode], check=False)
        if p.returncode != 0 or not p.stdout.rstrip().endswith('ok'):
            failed.append('%s failed' % os.path.basename(prog))
    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('subproject (%s mode): %s built and ran' % (mode, ', '.join(names)))


if __name__ == '__main__':
    main()
