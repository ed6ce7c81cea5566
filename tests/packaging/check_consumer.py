#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A CMake or autotools project built against the installed urcu-compat.

    check_consumer.py cmake|autotools MESON SOURCE_ROOT WORK_DIR

Installs this source tree (native mode, no tests) into WORK_DIR/prefix
with meson, then copies consumer-cmake/ or consumer-autotools/ and
consumer/consumer.c into WORK_DIR/src and builds them as a user does,
with the installed pkg-config files first in PKG_CONFIG_PATH:

- cmake: `cmake SRC` (pkg_check_modules(... IMPORTED_TARGET
  liburcu-compat)) then `cmake --build .` (`cmake3` where it exists,
  as on EL7 with EPEL);
- autotools: `autoreconf -i && ./configure && make`
  (PKG_CHECK_MODULES([URCU_COMPAT], [liburcu-compat])).

The program (memb flavor) calls rcu_barrier() and urcu_compat_barrier()
on queued callbacks and checks that they ran; it must report the mode the
installed header decides (flavors.header_decision()) and use the
installed shared library. A missing tool (cmake, autoreconf, make) is a
failure, not a skip: CI installs them (scripts/deps.sh).
"""
import os
import shutil
import sys

from flavors import check_program, header_decision, mode_name, prepend_path, run, work_dir

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = {'cmake': ['cmake'], 'autotools': ['autoreconf', 'autoconf', 'automake', 'make']}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in TOOLS:
        sys.exit(__doc__)
    kind, meson, root, work = sys.argv[1:]
    # EL7: EPEL's cmake3 (the system's cmake 2.8 has no IMPORTED_TARGET).
    cmake = 'cmake3' if shutil.which('cmake3') else 'cmake'
    missing = [t for t in TOOLS[kind] if not shutil.which(cmake if t == 'cmake' else t)]
    if missing:
        sys.exit('FAIL: %s not installed' % ', '.join(missing))
    work = work_dir(os.path.abspath(work))
    prefix = os.path.join(work, 'prefix')
    libdir = os.path.join(prefix, 'lib')

    run([meson, 'setup', os.path.join(work, 'build-lib'), root, '--fatal-meson-warnings',
         '--prefix', prefix, '--libdir', 'lib', '-Dtests=false'])
    run([meson, 'install', '-C', os.path.join(work, 'build-lib')])

    src = os.path.join(work, 'src')
    shutil.copytree(os.path.join(HERE, 'consumer-' + kind), src)
    shutil.copy(os.path.join(HERE, 'consumer', 'consumer.c'), src)
    env = prepend_path(os.environ, 'PKG_CONFIG_PATH', os.path.join(libdir, 'pkgconfig'))
    if kind == 'cmake':
        build = os.path.join(work, 'build')
        os.mkdir(build)
        run([cmake, src], cwd=build, env=env)
        run([cmake, '--build', '.'], cwd=build, env=env)
    else:
        build = src
        run(['autoreconf', '-i'], cwd=src, env=env)
        run(['./configure'], cwd=src, env=env)
        run(['make'], cwd=src, env=env)

    failed = []
    program = os.path.join(build, 'consumer')
    _, native, _ = header_decision('memb', 'native', os.path.join(prefix, 'include'),
                                   force=False)
    run_env = prepend_path(os.environ, 'LD_LIBRARY_PATH', libdir)
    if check_program([program, mode_name(native)], False, env=run_env) != 'ok':
        failed.append('the %s consumer did not report ok' % kind)
    ldd = run(['ldd', program], env=run_env).stdout
    if os.path.join(libdir, 'liburcu-compat.so.0') not in ldd:
        failed.append('the %s consumer does not use the installed liburcu-compat.so.0' % kind)

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('%s consumer: built against the installed liburcu-compat, ran (%s mode)'
          % (kind, mode_name(native)))


if __name__ == '__main__':
    main()
