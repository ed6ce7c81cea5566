#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The install way: meson install, then pkg-config, as a user does.

    check_install.py MESON SOURCE_ROOT WORK_DIR MODE PROJECT_VERSION [--known-exit-abort=signal]

Configures the source tree on its own (native mode, or emul with
-Dforce_emulation=true), installs it into WORK_DIR/prefix and checks what
was installed: exactly the header, the man page, and per flavor the
shared library (soname .so.0, version PROJECT_VERSION, only the API
exported), the static library and the pkg-config file. Then, per flavor,
builds program.c (in app.c) with `cc ... $(pkg-config --cflags --libs liburcu-compat-F)`
(shared) and with `pkg-config --static` and -static, and runs both. The
program includes only the flavor header and <urcu-compat.h>: the mode is
the installed header's. The exported names and what the program must
report are what the installed header decides (flavors.header_decision()).
The installed pkg-config files and libraries come in front of the user's
PKG_CONFIG_PATH and LD_LIBRARY_PATH, which may hold liburcu's. The option:
liburcu 0.7's signal flavor, whose abort at exit makes the test a known
failure (flavors.main_expecting()).
"""
import os
import re
import subprocess
import sys

from flavors import FLAVORS, WARNINGS, KnownExitAbort, app_source, check_program, \
    header_decision, known_abort_option, main_expecting, mode_name, pkg_config, \
    prepend_path, run, work_dir, write, have_pkg
import check_exports

HERE = os.path.dirname(os.path.abspath(__file__))


def soname(lib):
    out = run(['readelf', '-d', lib]).stdout
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    return m.group(1) if m else None


def main(argv, known):
    if len(argv) != 6:
        sys.exit(__doc__)
    meson, root, work, mode, version = argv[1:]
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
    env = prepend_path(os.environ, 'PKG_CONFIG_PATH', os.path.join(libdir, 'pkgconfig'))
    run_env = prepend_path(os.environ, 'LD_LIBRARY_PATH', libdir)
    aborted = []
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
        name, native, prefix_sym = header_decision(fl, mode, os.path.join(prefix, 'include'),
                                                   force=False)
        want = {prefix_sym + n for n in names[None] | names[not native]}
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
        expect = [mode_name(native), name]
        verdict = check_program(['./app'] + expect, fl in known, cwd=d, env=run_env)
        if verdict == 'failed':
            failed.append('%s: the program linked with the shared library failed' % fl)
        elif verdict == 'known':
            aborted.append(fl + ' (shared)')
        if not any(p.endswith('/' + os.path.basename(base) + '.so.0') for p in
                   run(['ldd', './app'], cwd=d, env=run_env).stdout.split()):
            failed.append('%s: the program does not use the installed shared library' % fl)
        flags = pkg_config('--static', '--cflags', '--libs', f['compat'], env=env)
        run(['cc', '-static', '-std=gnu99'] + WARNINGS + ['-o', 'app-static', 'app.c'] +
            flags, cwd=d)
        verdict = check_program(['./app-static'] + expect, fl in known, cwd=d)
        if verdict == 'failed':
            failed.append('%s: the program linked statically failed' % fl)
        elif verdict == 'known':
            aborted.append(fl + ' (static)')

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('install (%s mode): %s installed, built against and ran, shared and static'
          % (mode, ', '.join(FLAVORS[fl]['compat'] for fl in flavors)))
    if aborted:
        raise KnownExitAbort('liburcu 0.7 aborted at exit in the program of %s'
                             % ', '.join(aborted))


if __name__ == '__main__':
    ARGV, KNOWN = known_abort_option(sys.argv)
    main_expecting(lambda: main(ARGV, KNOWN), bool(KNOWN))
