#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compile (and run) every C example of the documentation, in both modes.

    check_doc_examples.py INCLUDE_DIR WORK_DIR PAGE.md... FLAVOR-MODE=LIBRARY...

Every ```c block of each page (doc/api.md, doc/multipathd.md) is a
translation unit of its own. A block without any
#include gets `#include <urcu.h>` and `#include <urcu-compat.h>` in front
(so a signature block is checked against the header's declaration). Each
block is compiled with gcc and clang (-std=gnu99 -Wall -Wextra -Werror),
in native mode and with URCU_COMPAT_FORCE_EMULATION 1; a block with a
main() is then linked with the built library of its flavor and mode, and
run: it must exit with 0 within a minute. Every block is compiled with
-DURCU_VERSION=0xMMmmpp from `pkg-config --modversion liburcu`, the way
multipathd's build defines it, so that doc/multipathd.md's "before" code
compiles as it would there.
"""
import os
import re
import shutil
import subprocess
import sys

from flavors import FLAVORS, MODES, WARNINGS, pkg_config, run, urcu_cflags, work_dir, write

PREAMBLE = '#include <urcu.h>\n#include <urcu-compat.h>\n'


def blocks(path):
    """(first line number, text) of every ```c block."""
    found = []
    with open(path) as f:
        lines = f.read().split('\n')
    i = 0
    while i < len(lines):
        if lines[i].strip() == '```c':
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != '```':
                i += 1
            if i == len(lines):
                sys.exit('%s:%d: unterminated ```c block' % (path, start))
            found.append((start + 1, '\n'.join(lines[start:i]) + '\n'))
        i += 1
    return found


def flavor_of(text):
    if '<urcu-qsbr.h>' in text or '<urcu/urcu-qsbr.h>' in text:
        return 'qsbr'
    if '<urcu-bp.h>' in text or '<urcu/urcu-bp.h>' in text:
        return 'bp'
    if 'RCU_MB' in text or '<urcu/urcu-mb.h>' in text:
        return 'mb'
    if 'RCU_SIGNAL' in text or '<urcu/urcu-signal.h>' in text:
        return 'signal'
    return 'memb'


def urcu_version_define():
    """-DURCU_VERSION=0xMMmmpp for the liburcu pkg-config finds."""
    major, minor, patch = (int(x) for x in
                           (pkg_config('--modversion', 'liburcu')[0].split('.') + ['0'] * 3)[:3])
    return '-DURCU_VERSION=0x%02x%02x%02x' % (major, minor, patch)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    include, work = (os.path.abspath(a) for a in sys.argv[1:3])
    pages = [os.path.abspath(a) for a in sys.argv[3:] if '=' not in a]
    libs = dict(arg.split('=', 1) for arg in sys.argv[3:] if '=' in arg)
    ccs = [c for c in ('gcc', 'clang') if shutil.which(c)]
    work = work_dir(work)
    examples = []
    for page in pages:
        found = blocks(page)
        if not found:
            sys.exit('%s: no ```c block' % page)
        examples += [(page, line, text) for line, text in found]
    failed = []
    ran = 0
    for n, (page, line, text) in enumerate(examples):
        flavor = flavor_of(text)
        has_include = re.search(r'^\s*#\s*include\b', text, re.M) is not None
        has_main = re.search(r'\bint\s+main\s*\(', text) is not None
        cflags = urcu_cflags(FLAVORS[flavor]['urcu']) + [urcu_version_define()]
        for mode in MODES:
            src = ('#define URCU_COMPAT_FORCE_EMULATION 1\n' if mode == 'emul' else '') + \
                  ('' if has_include else PREAMBLE) + \
                  '#line %d "%s"\n' % (line, page) + text
            base = os.path.join(work, 'example%d-%s' % (n + 1, mode))
            write(base + '.c', src)
            print('--- %s:%d (%s flavor, %s mode)' % (os.path.basename(page), line,
                                                     flavor, mode))
            for cc in ccs:
                p = run([cc, '-std=gnu99'] + WARNINGS + ['-I', include] + cflags +
                        ['-c', '-o', base + '-' + cc + '.o', base + '.c'], check=False)
                if p.returncode:
                    failed.append('%s:%d does not compile with %s in %s mode'
                                  % (page, line, cc, mode))
            if not has_main or not os.path.exists(base + '-' + ccs[0] + '.o'):
                continue
            lib = libs.get('%s-%s' % (flavor, mode))
            if not lib:
                print('note: no %s %s library built, not run' % (flavor, mode))
                continue
            lib = os.path.abspath(lib)
            p = run([ccs[0], '-o', base, base + '-' + ccs[0] + '.o', lib,
                     '-Wl,-rpath,' + os.path.dirname(lib)] +
                    pkg_config('--libs', FLAVORS[flavor]['urcu']) + ['-pthread'],
                    check=False)
            if p.returncode:
                failed.append('%s:%d does not link in %s mode' % (page, line, mode))
                continue
            try:
                p = run([base], check=False, timeout=60)
                if p.returncode:
                    failed.append('%s:%d exits with %d in %s mode'
                                  % (page, line, p.returncode, mode))
                ran += 1
            except subprocess.TimeoutExpired:
                failed.append('%s:%d does not exit in %s mode' % (page, line, mode))
    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('%d examples of %s compiled in both modes with %s; %d programs ran'
          % (len(examples), ', '.join(os.path.basename(p) for p in pages), ', '.join(ccs), ran))


if __name__ == '__main__':
    main()
