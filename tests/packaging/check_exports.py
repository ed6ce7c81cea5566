#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compare what a built urcu-compat library exports with the header's API.

    check_exports.py HEADER FLAVOR MODE LIBRARY...

The expected names come from include/urcu-compat.h itself: every
URCU_COMPAT_SYM(name) it uses (the urcu_compat_* #defines and the
declarations of the wrapped liburcu calls), with the prefix the header
gives them after the flavor's header, in MODE (native: the default; emul:
forced), as the preprocessor tells (flavors.header_decision(): on
liburcu 0.7 the default is the emulation, and <urcu.h> can be mb). Names
used only inside `#if !URCU_COMPAT_NATIVE_BARRIER` belong to the
emulation's ABI and must not be exported by a native library (and the
other way round for `#if URCU_COMPAT_NATIVE_BARRIER`).

A shared library is read with `nm -D --defined-only`, a static one with
`nm -g --defined-only`: either must define exactly the expected names.
"""
import os
import re
import subprocess
import sys

from flavors import header_decision

# Defined by the linker in every shared object on some toolchains.
LINKER_SYMBOLS = {'_init', '_fini', '_edata', '_end', '__bss_start'}

SYM_USE = re.compile(r'\bURCU_COMPAT_SYM\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)')
DIRECTIVE = re.compile(r'^\s*#\s*(\w+)\s*(.*)$')


def logical_lines(text):
    """Lines with backslash continuations joined and comments removed."""
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'),
                  text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return text.replace('\\\n', ' ').split('\n')


def header_names(path):
    """Return {None: always, True: emulation only, False: native only}:
    the names passed to URCU_COMPAT_SYM."""
    names = {None: set(), True: set(), False: set()}
    # One entry per open conditional: True when its current branch is
    # emulation-only, False when it is emulation-free (native), None
    # when it does not depend on the mode.
    stack = []
    with open(path) as f:
        lines = logical_lines(f.read())
    for line in lines:
        m = DIRECTIVE.match(line)
        if m:
            word, rest = m.group(1), m.group(2).strip()
            if word in ('if', 'ifdef', 'ifndef'):
                if word == 'if' and re.fullmatch(r'!\s*URCU_COMPAT_NATIVE_BARRIER', rest):
                    stack.append(True)
                elif word == 'if' and rest == 'URCU_COMPAT_NATIVE_BARRIER':
                    stack.append(False)
                else:
                    stack.append(None)
                continue
            if word in ('else', 'elif'):
                if not stack:
                    sys.exit('%s: #%s without #if' % (path, word))
                if stack[-1] is not None:
                    if word == 'elif':
                        sys.exit('%s: #elif after a test of the mode is not understood'
                                 % path)
                    stack[-1] = not stack[-1]
                continue
            if word == 'endif':
                if not stack:
                    sys.exit('%s: #endif without #if' % path)
                stack.pop()
                continue
            if word == 'define' and rest.startswith('URCU_COMPAT_SYM('):
                continue	# the definition of the macro itself
        modes = set(s for s in stack if s is not None)
        if len(modes) > 1:
            continue	# in both a native and an emulation branch: never
        key = modes.pop() if modes else None
        names[key].update(SYM_USE.findall(line))
    return names


def defined_symbols(lib):
    shared = '.so' in lib.rsplit('/', 1)[-1]
    cmd = ['nm', '-D', '--defined-only', lib] if shared else \
          ['nm', '-g', '--defined-only', lib]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        # "address type name"; archive member headers end with ':'
        if len(fields) == 3 and not line.endswith(':'):
            names.add(fields[2].split('@')[0])
    return names - LINKER_SYMBOLS


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    header, flavor, mode, libs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    if mode not in ('native', 'emul'):
        sys.exit('mode must be native or emul, not %r' % mode)
    names = header_names(header)
    if not names[None]:
        sys.exit('%s: no URCU_COMPAT_SYM() use found' % header)
    _, native, prefix = header_decision(flavor, mode, os.path.dirname(os.path.abspath(header)))
    wanted = names[None] | names[not native]
    expected = {prefix + n for n in wanted}
    failed = False
    for lib in libs:
        got = defined_symbols(lib)
        extra = sorted(got - expected)
        missing = sorted(expected - got)
        print('%s: %d symbols, %d expected' % (lib, len(got), len(expected)))
        for name in extra:
            print('  exported but not in the header\'s API: %s' % name)
        for name in missing:
            print('  in the header\'s API but not exported: %s' % name)
        failed |= bool(extra or missing)
    if failed:
        sys.exit(1)
    print('exports match the %s %s API: %s' % (flavor, mode, ' '.join(sorted(expected))))


if __name__ == '__main__':
    main()
