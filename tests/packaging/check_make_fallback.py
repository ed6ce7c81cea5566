#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The make fragments of doc/multipathd.md: the installed library found
with pkg-config, or the drop-in files when it is not installed.

    check_make_fallback.py MESON SOURCE_ROOT WORK_DIR

Takes the ```make blocks of doc/multipathd.md that set URCU_COMPAT (for
create-config.mk) and that choose between the two ways (for
multipathd/Makefile), and puts them, as they are, into a Makefile with
what multipathd's build has around them (PKG_CONFIG, TOPDIR, CPPFLAGS,
OBJS, LIBDEPS with -lurcu -lpthread) and a rule for the program
(consumer/consumer.c, memb flavor). The drop-in files (include/urcu-compat.h
and compat/) are copied into third-party/urcu-compat/ as the page says.
Then make runs twice:

- with this source tree installed (meson, native mode) into
  WORK_DIR/prefix and on PKG_CONFIG_PATH: the program must use the
  installed liburcu-compat.so.0;
- without it (pkg-config must not find liburcu-compat): the program must
  be built with the drop-in object, not linked with any liburcu-compat.

Each time the program must run and report the mode its header decides
(flavors.header_decision()). make missing is a failure, not a skip.
"""
import os
import re
import shutil
import sys

from flavors import check_program, have_pkg, header_decision, mode_name, prepend_path, \
    run, work_dir, write

HERE = os.path.dirname(os.path.abspath(__file__))

AROUND = """# Made by check_make_fallback.py from the make blocks of doc/multipathd.md.
PKG_CONFIG ?= pkg-config
TOPDIR := $(CURDIR)
# What multipathd's build has already: liburcu, -lurcu, -lpthread.
CPPFLAGS += $(shell $(PKG_CONFIG) --cflags liburcu)
LIBDEPS += $(shell $(PKG_CONFIG) --libs liburcu) -lpthread
OBJS := consumer.o

# doc/multipathd.md, create-config.mk
%s
# doc/multipathd.md, multipathd/Makefile
%s
consumer: $(OBJS)
\t$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBDEPS)
"""


def make_blocks(page):
    with open(page) as f:
        return re.findall(r'^```make\n(.*?)^```$', f.read(), re.M | re.S)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    meson, root, work = sys.argv[1:]
    root = os.path.abspath(root)
    if not shutil.which('make'):
        sys.exit('FAIL: make is not installed')
    page = os.path.join(root, 'doc', 'multipathd.md')
    blocks = make_blocks(page)
    found = [b for b in blocks if re.match(r'URCU_COMPAT :=', b)]
    choose = [b for b in blocks if 'ifeq ($(URCU_COMPAT),installed)' in b]
    if len(found) != 1 or len(choose) != 1:
        sys.exit('FAIL: %s: expected one make block setting URCU_COMPAT and one '
                 'choosing with it, found %d and %d' % (page, len(found), len(choose)))
    makefile = AROUND % (found[0], choose[0])

    work = work_dir(os.path.abspath(work))
    prefix = os.path.join(work, 'prefix')
    libdir = os.path.join(prefix, 'lib')
    run([meson, 'setup', os.path.join(work, 'build-lib'), root, '--fatal-meson-warnings',
         '--prefix', prefix, '--libdir', 'lib', '-Dtests=false'])
    run([meson, 'install', '-C', os.path.join(work, 'build-lib')])

    failed = []
    with_lib = prepend_path(os.environ, 'PKG_CONFIG_PATH', os.path.join(libdir, 'pkgconfig'))
    ways = [('installed', with_lib, os.path.join(prefix, 'include')),
            ('drop-in', dict(os.environ), os.path.join(root, 'include'))]
    for way, env, include in ways:
        print('=== %s' % way)
        if way == 'drop-in' and have_pkg('liburcu-compat', env=env):
            failed.append('pkg-config finds a liburcu-compat outside the test: '
                          'the drop-in way cannot be tried')
            continue
        src = work_dir(os.path.join(work, way))
        shutil.copy(os.path.join(HERE, 'consumer', 'consumer.c'), src)
        third = os.path.join(src, 'third-party', 'urcu-compat')
        os.makedirs(third)
        shutil.copy(os.path.join(root, 'include', 'urcu-compat.h'), third)
        for name in os.listdir(os.path.join(root, 'compat')):
            shutil.copy(os.path.join(root, 'compat', name), third)
        write(os.path.join(src, 'Makefile'), makefile)
        print(makefile)
        run(['make', 'consumer'], cwd=src, env=env)

        dropin_obj = os.path.exists(os.path.join(third, 'urcu-compat.o'))
        run_env = prepend_path(os.environ, 'LD_LIBRARY_PATH', libdir)
        ldd = run(['ldd', 'consumer'], cwd=src, env=run_env).stdout
        if way == 'installed':
            if os.path.join(libdir, 'liburcu-compat.so.0') not in ldd:
                failed.append('installed: the program does not use the installed library')
            if dropin_obj:
                failed.append('installed: the drop-in object was built as well')
        else:
            if 'liburcu-compat' in ldd:
                failed.append('drop-in: the program is linked with a liburcu-compat library')
            if not dropin_obj:
                failed.append('drop-in: third-party/urcu-compat/urcu-compat.o was not built')
        _, native, _ = header_decision('memb', 'native', include, force=False)
        if check_program([os.path.join(src, 'consumer'), mode_name(native)], False,
                         env=run_env) != 'ok':
            failed.append('%s: the program did not report ok' % way)

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('doc/multipathd.md\'s make fragments: the installed library, then the drop-in '
          'files, built and ran')


if __name__ == '__main__':
    main()
