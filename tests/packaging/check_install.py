#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The install way: meson install, then pkg-config, as a user does.

    check_install.py MESON SOURCE_ROOT WORK_DIR MODE PROJECT_VERSION

Configures the source tree on its own (native mode, or emul with
-Dforce_emulation=true), installs it into WORK_DIR/prefix and checks what
was installed: exactly the header, the man page, and per flavor the
shared library (soname .so.0, version PROJECT_VERSION, only the API
exported), the static library and the pkg-config file. Then, per flavor,
builds program.c (in app.c) with `cc ... $(pkg-config --cflags --libs liburcu-compat-F)`
(shared) and with `pkg-config --static` and -static, and runs both. The
program includes only the flavor header and <urcu-compat.h>: the mode is
the installed header's.
"""
import os
import re
import subprocess
import sys

from flavors import FLAVORS, WARNINGS, app_source, pkg_config, run, work_dir, \
    write, have_pkg
import check_exports

HERE = os.path.dirname(os.path.abspath(__file__))


def soname(lib):
    out = run(['readelf', '-d', lib]).stdout
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    return m.group(1) if m else None


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    meson, root, work, mode, version = sys.argv[1:]
    work = work_dir(os.path.abspath(work))
    build = os.path.join(work, 'build')
    prefix = os.path.join(work, 'prefix')
    libdir = os.path.join(prefix, 'lib')

    run([meson, 'setup', build, root, '--fatal-meson-warnings',
         '--prefix', prefix, '--libdir', 'lib', '-Dtests=false',
         '-Dforce_emulation=' + ('true' if mode == 'emul' else 'false')])
    run([meson, 'install', '-C', build])

    flavors = [fl for fl, f in FLAVORS.items() if have_pkg(f['urcu'])]
    failed = []

    # Exactly these files, nothing else.
    expected = {'include/urcu-compat.h', 'share/man/man3/urcu-compat.3'}
    for fl in flavors:
        base = 'lib/lib' + FLAVORS[fl]['compat'][3:]
        expected |= {base + '.so', base + '.so.0', base + '.so.' + version, base + '.a',
                     'lib/pkgconfig/' + FLAVORS[fl]['compat'] + '.pc'}
    installed = set()
    for dirpath, dirnames, filenames in os.walk(prefix):
        for name in filenames:
            installed.add(os.path.relpath(os.path.join(dirpath, name), prefix))
    for name in sorted(installed - expected):
        failed.append('installed but not expected: ' + name)
    for name in sorted(expected - installed):
        failed.append('not installed: ' + name)

    with open(os.path.join(prefix, 'include', 'urcu-compat.h')) as f:
        default = re.search(r'^#define URCU_COMPAT_FORCE_EMULATION (\d)$', f.read(), re.M)
    if not default or default.group(1) != ('1' if mode == 'emul' else '0'):
        failed.append('the installed header does not default to the %s mode' % mode)

    header = os.path.join(root, 'include', 'urcu-compat.h')
    names = check_exports.header_names(header)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, 'pkgconfig'))
    run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    for fl in flavors:
        f = FLAVORS[fl]
        base = os.path.join(libdir, 'lib' + f['compat'][3:])
        print('=== %s' % f['compat'])
        # The shared library: links, soname, exports.
        if os.path.realpath(base + '.so') != base + '.so.' + version or \
           os.path.realpath(base + '.so.0') != base + '.so.' + version:
            failed.append('%s.so and .so.0 do not lead to .so.%s' % (base, version))
        if soname(base + '.so.' + version) != os.path.basename(base) + '.so.0':
            failed.append('%s: soname is not %s.so.0' % (base, os.path.basename(base)))
        prefix_sym = ('urcu_compat_%s_' if mode == 'native' else 'urcu_compat_emul_%s_') % fl
        want = {prefix_sym + n for n in names[None] | names[mode == 'emul']}
        for lib in (base + '.so.' + version, base + '.a'):
            got = check_exports.defined_symbols(lib)
            if got != want:
                failed.append('%s exports %s, not %s' % (lib, sorted(got - want),
                                                        sorted(want - got)))
        modversion = pkg_config('--modversion', f['compat'], env=env)
        if modversion != [version]:
            failed.append('%s.pc: version %s' % (f['compat'], modversion))

        # A user's program, shared then static.
        d = work_dir(os.path.join(work, 'app-' + fl))
        write(os.path.join(d, 'app.c'),
              app_source(fl, mode, os.path.join(HERE, 'program.c'), force=False))
        flags = pkg_config('--cflags', '--libs', f['compat'], env=env)
        run(['cc', '-std=gnu99'] + WARNINGS + ['-o', 'app', 'app.c'] + flags, cwd=d)
        out = run(['./app', mode, fl], cwd=d, env=run_env, check=False)
        if out.returncode != 0 or not out.stdout.rstrip().endswith('ok'):
            failed.append('%s: the program linked with the shared library failed' % fl)
        if not any(p.endswith('/' + os.path.basename(base) + '.so.0') for p in
                   run(['ldd', './app'], cwd=d, env=run_env).stdout.split()):
            failed.append('%s: the program does not use the installed shared library' % fl)
        flags = pkg_config('--static', '--cflags', '--libs', f['compat'], env=env)
        run(['cc', '-static', '-std=gnu99'] + WARNINGS + ['-o', 'app-static', 'app.c'] +
            flags, cwd=d)
        out = run(['./app-static', mode, fl], cwd=d, check=False)
        if out.returncode != 0 or not out.stdout.rstrip().endswith('ok'):
            failed.append('%s: the program linked statically failed' % fl)

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('install (%s mode): %s installed, built against and ran, shared and static'
          % (mode, ', '.join(FLAVORS[fl]['compat'] for fl in flavors)))


if __name__ == '__main__':
    main()
