# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the packaging tests need to know about the flavors, and helpers."""
import os
import re
import shlex
import signal
import subprocess
import sys

# The lines that select each flavor in a C file, liburcu's pkg-config
# name, urcu-compat's, and the two-line drop-in file's macro.
FLAVORS = {
    'memb': {'select': '#include <urcu.h>\n',
             'urcu': 'liburcu', 'compat': 'liburcu-compat', 'macro': None},
    'mb': {'select': '#define RCU_MB\n#include <urcu.h>\n',
           'urcu': 'liburcu-mb', 'compat': 'liburcu-compat-mb',
           'macro': 'URCU_COMPAT_FLAVOR_MB'},
    'signal': {'select': '#define RCU_SIGNAL\n#include <urcu.h>\n',
               'urcu': 'liburcu-signal', 'compat': 'liburcu-compat-signal',
               'macro': 'URCU_COMPAT_FLAVOR_SIGNAL'},
    'qsbr': {'select': '#include <urcu-qsbr.h>\n',
             'urcu': 'liburcu-qsbr', 'compat': 'liburcu-compat-qsbr',
             'macro': 'URCU_COMPAT_FLAVOR_QSBR'},
    'bp': {'select': '#include <urcu-bp.h>\n',
           'urcu': 'liburcu-bp', 'compat': 'liburcu-compat-bp',
           'macro': 'URCU_COMPAT_FLAVOR_BP'},
}

MODES = ('native', 'emul')

WARNINGS = ['-Wall', '-Wextra', '-Werror']


def run(cmd, cwd=None, env=None, check=True, timeout=None):
    """Run cmd, showing it the way a user would type it; return its output."""
    print('$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=timeout)
    if p.stdout:
        sys.stdout.write(p.stdout)
        sys.stdout.flush()
    if check and p.returncode != 0:
        sys.exit('command failed with exit status %d' % p.returncode)
    return p


def pkg_config(*args, env=None):
    out = run(['pkg-config'] + list(args), env=env).stdout
    return shlex.split(out)


def urcu_cflags(name, env=None):
    """pkg-config --cflags of a liburcu package, its include directories
    as system ones (-isystem), as they are from /usr/include: the checks
    build with -Werror for urcu-compat's code, and liburcu 0.7's headers
    warn under -Wall -Wextra (unused parameters, and gcc 12's
    -Warray-bounds on uatomic's casts)."""
    return ['-isystem' + a[2:] if a.startswith('-I') else a
            for a in pkg_config('--cflags', name, env=env)]


UATOMIC_PROBE = ('#include <urcu/uatomic.h>\nstatic int x;\nint f(void);\n'
                 'int f(void)\n{\n\tuatomic_or(&x, 1);\n\treturn uatomic_read(&x);\n}\n')


def uatomic_flags(cc, cflags):
    """[] when liburcu's uatomic_*() compile clean with cc at -O2 and
    WARNINGS, else ['-Wno-array-bounds'] (printed): liburcu 0.7's x86
    uatomic casts an int's address to a larger struct, which gcc 11+ reports
    as an out-of-bounds access in the caller's code (liburcu's macro, a
    false positive)."""
    def clean(extra):
        return subprocess.run([cc, '-x', 'c', '-std=gnu99', '-O2'] + WARNINGS + extra + cflags +
                              ['-c', '-o', os.devnull, '-'], input=UATOMIC_PROBE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True).returncode == 0
    if clean([]) or not clean(['-Wno-array-bounds']):
        return []
    print('note: liburcu\'s uatomic_*() trip %s\'s -Warray-bounds: -Wno-array-bounds' % cc)
    return ['-Wno-array-bounds']


def have_pkg(name, env=None):
    return subprocess.run(['pkg-config', '--exists', name], env=env).returncode == 0


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def emul_line(mode):
    return '#define URCU_COMPAT_FORCE_EMULATION 1\n' if mode == 'emul' else ''


def app_source(flavor, mode, program_c, force=True):
    """app.c: selects the flavor (and with force the emulation, for mode
    emul) the way a user does, then includes program_c."""
    return ('/* ' + flavor + ' flavor, ' + mode + ' mode */\n' +
            (emul_line(mode) if force else '') +
            FLAVORS[flavor]['select'] + '#include "' + program_c + '"\n')


def work_dir(path):
    """An empty directory at path (left in place for a look after a failure)."""
    if os.path.isdir(path):
        import shutil
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def header_decision(flavor, mode, include, force=True):
    """What urcu-compat.h in include decides after flavor's header in mode
    (emul: the emulation forced, by a line in front when force, else by the
    header's own default, as installed by -Dforce_emulation=true): (flavor
    name, native, exported prefix), read from the preprocessor, the way an
    application gets them. The packaging checks take their expectations
    from it: on liburcu 0.7.15 - 0.7.17 <urcu.h> is the mb flavor, and on
    every 0.7 the default is the emulation. It is checked against
    liburcu's own headers: the emulation in mode emul, otherwise liburcu's
    barrier exactly where the flavor header defines rcu_barrier (0.8+)."""
    include = os.path.abspath(include)
    src = (emul_line(mode) if force else '') + FLAVORS[flavor]['select'] + \
        '#ifdef rcu_barrier\nprobe_urcu_barrier 1\n#else\nprobe_urcu_barrier 0\n#endif\n' + \
        '#include <urcu-compat.h>\n' + \
        'probe_header URCU_COMPAT_FLAVOR_NAME URCU_COMPAT_NATIVE_BARRIER URCU_COMPAT_SYM(x)\n'
    cmd = ['cc', '-E', '-P', '-I', include] + pkg_config('--cflags', FLAVORS[flavor]['urcu']) + ['-']
    p = subprocess.run(cmd, input=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, cwd=include)
    has = re.search(r'^probe_urcu_barrier (\d)\s*$', p.stdout, re.M)
    m = re.search(r'^probe_header "(\w+)" (\d) (\w+)_x\s*$', p.stdout, re.M)
    if p.returncode or not has or not m:
        sys.exit('cannot read what urcu-compat.h decides:\n$ %s <<EOF\n%sEOF\n%s'
                 % (' '.join(cmd), src, p.stdout))
    name, native, prefix = m.group(1), m.group(2) == '1', m.group(3) + '_'
    expected_native = has.group(1) == '1' and mode != 'emul'
    if native != expected_native:
        sys.exit('urcu-compat.h took the %s, liburcu%s rcu_barrier, mode %s'
                 % ('native barrier' if native else 'emulation',
                    ' has' if has.group(1) == '1' else ' has no', mode))
    print('urcu-compat.h after the %s flavor header (%s mode): flavor %s, %s, prefix %s'
          % (flavor, mode, name, 'native' if native else 'emulation', prefix))
    return name, native, prefix


def mode_name(native):
    """The mode as program.c and the consumer print it."""
    return 'native' if native else 'emul'


def prepend_path(env, var, path):
    """env with path in front of var's list (never losing the user's)."""
    old = env.get(var)
    return dict(env, **{var: path + (os.pathsep + old if old else '')})


# liburcu 0.7's signal flavor aborts at exit in every program that used
# call_rcu(): its destructor asserts that no thread is registered, and the
# call_rcu workers are registered readers that never stop (liburcu's bug).
EXIT_ABORT = "rcu_exit_sig: Assertion `cds_list_empty(&registry)' failed"
KNOWN_ABORT_OPTION = '--known-exit-abort='


class KnownExitAbort(Exception):
    """Raised once everything passed but liburcu 0.7's signal abort at exit."""


def known_abort_option(argv):
    """argv without --known-exit-abort=FLAVOR,..., and the set of those
    flavors: where meson registered the test with should_fail."""
    flavors = set()
    rest = []
    for arg in argv:
        if arg.startswith(KNOWN_ABORT_OPTION):
            flavors |= set(f for f in arg[len(KNOWN_ABORT_OPTION):].split(',') if f)
        else:
            rest.append(arg)
    return rest, flavors


def check_program(cmd, known_abort, cwd=None, env=None, timeout=None):
    """Run a program that prints 'ok' last and exits with 0. Returns 'ok',
    'known' when known_abort and, after its 'ok', it ended in liburcu 0.7's
    signal abort at exit, else 'failed'."""
    p = run(cmd, cwd=cwd, env=env, check=False, timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if known_abort and p.returncode == -signal.SIGABRT and lines and EXIT_ABORT in lines[-1]:
        lines.pop()
        if lines and lines[-1].strip() == 'ok':
            print('known failure: liburcu 0.7 (signal flavor) aborted at exit')
            return 'known'
    if p.returncode == 0 and lines and lines[-1].strip() == 'ok':
        return 'ok'
    return 'failed'


def main_expecting(main, known):
    """Run main(). Without known, as it is. With known (the test is
    registered with should_fail): exit 1, EXPECTEDFAIL, only when main()
    raised KnownExitAbort, that is, everything passed but liburcu's abort at
    exit; exit 0, UNEXPECTEDPASS (a failure for meson), on any other
    failure and when the abort did not happen."""
    if not known:
        main()
        return
    try:
        main()
    except KnownExitAbort as e:
        print('known failure: %s' % e)
        sys.exit(1)
    except SystemExit as e:
        if e.code == 77:
            raise
        if e.code not in (None, 0):
            if not isinstance(e.code, int):
                print(e.code)
            print('FAIL (shown as an unexpected pass: a real failure)')
            sys.exit(0)
    except BaseException:
        import traceback
        traceback.print_exc()
        print('FAIL (shown as an unexpected pass: a real failure)')
        sys.exit(0)
    print('FAIL: liburcu did not abort at exit: the known failure is gone, '
          'drop should_fail for it in tests/packaging/meson.build')
    sys.exit(0)
