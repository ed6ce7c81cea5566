# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the packaging tests need to know about the flavors, and helpers."""
import os
import shlex
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
