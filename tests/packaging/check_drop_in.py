#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The drop-in way, exactly as doc/usage.md describes it, without meson.

    check_drop_in.py SOURCE_ROOT WORK_DIR FLAVOR MODE [--known-exit-abort=signal]

Copies include/urcu-compat.h and the files of compat/ (urcu-compat.c and
the parts it includes) into an empty directory with a small program
(program.c, included by app.c), selects the flavor and the mode
in source files only (the two-line file for a flavor other than memb,
`#define URCU_COMPAT_FORCE_EMULATION 1` for the emulation), builds with
plain `cc` command lines and `pkg-config` for liburcu's flags, no -D flag,
and runs the program; then the same with a plain Makefile that relies on
make's built-in rules. Also with clang when it is installed. The checks
add -Werror, so liburcu's include directories come as system ones
(flavors.urcu_cflags()), and -Wno-array-bounds where liburcu's own
uatomic trips it (flavors.uatomic_flags()). The program
is told the mode and flavor the header decides (flavors.header_decision()).
The option: liburcu 0.7's signal flavor, whose abort at exit makes the
test a known failure (flavors.main_expecting()).
"""
import os
import shutil
import sys

from flavors import FLAVORS, WARNINGS, KnownExitAbort, emul_line, app_source, \
    check_program, header_decision, known_abort_option, main_expecting, mode_name, \
    pkg_config, run, uatomic_flags, urcu_cflags, work_dir, write, have_pkg, skip

CFLAGS = ['-std=gnu99', '-O2'] + WARNINGS


def main(argv, known):
    if len(argv) != 5:
        sys.exit(__doc__)
    root, work, flavor, mode = argv[1:]
    f = FLAVORS[flavor]
    if not have_pkg(f['urcu']):
        skip('%s is not installed' % f['urcu'])
    name, native, _ = header_decision(flavor, mode, os.path.join(root, 'include'))
    expect = [mode_name(native), name]
    aborted = 0
    parts = sorted(os.listdir(os.path.join(root, 'compat')))
    compilers = [c for c in ('cc', 'clang') if shutil.which(c)]
    for cc in compilers:
        d = work_dir(os.path.join(work, cc))
        shutil.copy(os.path.join(root, 'include', 'urcu-compat.h'), d)
        for name in parts:
            shutil.copy(os.path.join(root, 'compat', name), d)
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'program.c'), d)

        # The library: urcu-compat.c itself, or the documented two-line file.
        lib_c = 'urcu-compat.c'
        if f['macro']:
            lib_c = 'urcu-compat-%s.c' % flavor
        elif mode == 'emul':
            lib_c = 'urcu-compat-emul.c'
        if lib_c != 'urcu-compat.c':
            write(os.path.join(d, lib_c),
                  emul_line(mode) +
                  ('#define %s\n' % f['macro'] if f['macro'] else '') +
                  '#include "urcu-compat.c"\n')
        write(os.path.join(d, 'app.c'), app_source(flavor, mode, 'program.c'))
        for name in (lib_c, 'app.c'):
            print('--- %s' % name)
            with open(os.path.join(d, name)) as src:
                sys.stdout.write(src.read())

        cflags = urcu_cflags(f['urcu'])
        libs = pkg_config('--libs', f['urcu'])
        quiet = uatomic_flags(cc, cflags)
        run([cc] + CFLAGS + quiet + ['-c', lib_c] + cflags, cwd=d)
        run([cc] + CFLAGS + quiet + ['-c', 'app.c'] + cflags, cwd=d)
        run([cc, '-o', 'app', 'app.o', lib_c[:-2] + '.o'] + libs + ['-pthread'], cwd=d)
        verdict = check_program(['./app'] + expect, flavor in known, cwd=d)
        if verdict == 'failed':
            sys.exit('the program did not report ok')
        aborted += verdict == 'known'

        # The same with the plain Makefile of doc/usage.md and make's own rules.
        if not shutil.which('make'):
            print('note: make not installed, the Makefile was not tried')
            continue
        m = work_dir(os.path.join(work, cc + '-make'))
        for name in ['urcu-compat.h', 'program.c', lib_c, 'app.c'] + parts:
            shutil.copy(os.path.join(d, name), m)
        obj = lib_c[:-2] + '.o'
        write(os.path.join(m, 'Makefile'),
              'CFLAGS += %s\n' % ' '.join(CFLAGS + quiet) +
              'CFLAGS += $(shell pkg-config --cflags %s)\n' % f['urcu'] +
              '# liburcu\'s headers as system headers, as from /usr/include\n'
              'CFLAGS += $(patsubst -I%%,-isystem%%,$(shell pkg-config --cflags-only-I %s))\n'
              % f['urcu'] +
              'LDLIBS += $(shell pkg-config --libs %s) -pthread\n' % f['urcu'] +
              '\n'
              'app: app.o %s\n' % obj +
              'app.o %s: urcu-compat.h\n' % obj +
              '%s: %s\n' % (obj, ' '.join(p for p in parts if p != obj[:-2] + '.c')))
        with open(os.path.join(m, 'Makefile')) as mk:
            sys.stdout.write('--- Makefile\n' + mk.read())
        run(['make', 'CC=' + cc], cwd=m)
        verdict = check_program(['./app'] + expect, flavor in known, cwd=m)
        if verdict == 'failed':
            sys.exit('the program built by make did not report ok')
        aborted += verdict == 'known'
    print('drop-in %s %s: built with cc command lines and with make, and ran, with %s'
          % (flavor, mode, ', '.join(compilers)))
    if aborted:
        raise KnownExitAbort('%d of the programs aborted at exit in liburcu 0.7 (signal)'
                             % aborted)


if __name__ == '__main__':
    ARGV, KNOWN = known_abort_option(sys.argv)
    main_expecting(lambda: main(ARGV, KNOWN), bool(KNOWN))
