#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""urcu-compat.h on its own, in C99 and in C++.

    check_header.py compile INCLUDE_DIR PROJECT_VERSION
        After each liburcu flavor header this liburcu has (and after none),
        with and without _LGPL_SOURCE, in the default and the forced
        emulation mode, included twice, with every API name used: compiles
        with gcc and clang (-std=gnu99) and g++ (its default standard and
        -std=gnu++98) and clang++, all with -Wall -Wextra -Werror. The
        version macros must match the project's.

    check_header.py link INCLUDE_DIR WORK_DIR FLAVOR MODE LIBRARY [--known-exit-abort=signal]
        program.c built as C++ (g++, and clang++ if installed) against a built
        library, linked and run: the extern "C" declarations reach it. The
        option: liburcu 0.7's signal flavor, whose abort at exit makes the
        test a known failure (flavors.main_expecting()).

On liburcu 0.7.15 - 0.7.17, <urcu.h> (or no flavor header) is the mb
flavor: liburcu's map header defines RCU_MB, and the header must follow.
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

from flavors import FLAVORS, WARNINGS, KnownExitAbort, app_source, check_program, \
    header_decision, known_abort_option, main_expecting, mode_name, pkg_config, run, \
    urcu_cflags, work_dir, write, skip

HERE = os.path.dirname(os.path.abspath(__file__))

# What the application includes before urcu-compat.h, and the flavor that
# must result. The prefixed headers exist from liburcu 0.11 on.
SELECTORS = [
    ('no flavor header', '', 'memb'),
    ('<urcu.h>', '#include <urcu.h>\n', 'memb'),
    ('RCU_MB + <urcu.h>', '#define RCU_MB\n#include <urcu.h>\n', 'mb'),
    ('RCU_SIGNAL + <urcu.h>', '#define RCU_SIGNAL\n#include <urcu.h>\n', 'signal'),
    ('<urcu-qsbr.h>', '#include <urcu-qsbr.h>\n', 'qsbr'),
    ('<urcu-bp.h>', '#include <urcu-bp.h>\n', 'bp'),
    ('<urcu/urcu-memb.h>', '#include <urcu/urcu-memb.h>\n', 'memb'),
    ('<urcu/urcu-mb.h>', '#include <urcu/urcu-mb.h>\n', 'mb'),
    ('<urcu/urcu-signal.h>', '#include <urcu/urcu-signal.h>\n', 'signal'),
    ('<urcu/urcu-qsbr.h>', '#include <urcu/urcu-qsbr.h>\n', 'qsbr'),
    ('<urcu/urcu-bp.h>', '#include <urcu/urcu-bp.h>\n', 'bp'),
]


def known_broken(selector, emul):
    """Combinations that do not compile yet, each a bug of the header: the
    reason their errors must mention, or None. None left: the prefixed
    headers (0.11+) without liburcu's mapping declare no call_rcu(), and
    the header then defines no call_rcu() wrapper."""
    return None


def only_because(out, reason):
    """Every error in the compiler's output is about reason."""
    errors = [l for l in out.splitlines() if 'error' in l and
              'warnings being treated as errors' not in l and
              not re.search(r'\d+ errors? generated', l)]
    return bool(errors) and all(reason in l for l in errors)


BODY = r'''
#include <urcu-compat.h>
#include <urcu-compat.h>	/* twice: harmless */

#define EXPECT_FLAVOR_%(flavor)s 1
#if !URCU_COMPAT_CAT(EXPECT_FLAVOR_, URCU_COMPAT_FLAVOR_TAG)
#error "the header took the wrong flavor"
#endif
#if %(emul)d && URCU_COMPAT_NATIVE_BARRIER
#error "URCU_COMPAT_FORCE_EMULATION 1 did not select the emulation"
#endif
#if URCU_COMPAT_VERSION != URCU_COMPAT_VERSION_NUM(URCU_COMPAT_VERSION_MAJOR, \
	URCU_COMPAT_VERSION_MINOR, URCU_COMPAT_VERSION_PATCH)
#error "URCU_COMPAT_VERSION"
#endif

static void cb(struct rcu_head *head)
{
	(void)head;
}

int use_api(struct rcu_head *head);

int use_api(struct rcu_head *head)
{
	void (*fn)(struct rcu_head *) = cb;
	struct call_rcu_data *crdp = NULL;
	int ret = 0;

	/* liburcu's names, where liburcu's mapping or the header gives them */
#ifdef call_rcu
	call_rcu(head, fn);
#else
	(void)head;
	(void)fn;
#endif
#ifdef create_call_rcu_data
	crdp = create_call_rcu_data(0, -1);
#endif
#ifdef call_rcu_data_free
	call_rcu_data_free(crdp);
#endif
#ifdef free_all_cpu_call_rcu_data
	free_all_cpu_call_rcu_data();
#endif
	/* what the header maps in every mode */
	rcu_barrier();
	crdp = get_default_call_rcu_data();
	crdp = get_call_rcu_data();
	call_rcu_before_fork();
	call_rcu_after_fork_parent();
	call_rcu_after_fork_child();
	/* urcu-compat's own */
	ret |= urcu_compat_barrier();
	ret |= urcu_compat_barrier_timeout(10);
	ret |= urcu_compat_native_barrier() != URCU_COMPAT_NATIVE_BARRIER;
	ret |= urcu_compat_version() != URCU_COMPAT_VERSION;
	urcu_compat_call_rcu_data_free(crdp);
	urcu_compat_set_exit_barriers(1, 1000);
	ret |= URCU_COMPAT_IS_QSBR + URCU_COMPAT_FLAVOR_NAME[0];
	return ret;
}
'''


# Compiler, language, standard (None: the compiler's default; g++ 4.8's
# is gnu++98).
COMPILERS = [('gcc', 'c', 'gnu99'), ('clang', 'c', 'gnu99'),
             ('g++', 'c++', None), ('g++', 'c++', 'gnu++98'), ('clang++', 'c++', None)]


def compilers():
    found = []
    for cc, lang, std in COMPILERS:
        if shutil.which(cc):
            found.append((cc, lang, std))
        elif (cc, lang) not in [(c, l) for c, l, _ in found]:
            print('note: %s not installed, not tried' % cc)
    if not any(lang == 'c++' for _, lang, _ in found):
        sys.exit('no C++ compiler (g++ or clang++) found')
    return found


def compile_one(cc, lang, std, src, cflags, include):
    cmd = [cc, '-x', lang] + (['-std=' + std] if std else []) + WARNINGS + \
        ['-fsyntax-only', '-I', include] + cflags + ['-']
    # Run where no other urcu-compat.h can be found (a build directory
    # configured with -Dforce_emulation=true has one).
    p = subprocess.run(cmd, input=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, cwd=include)
    return p.returncode, p.stdout, cmd


def header_version(include):
    with open(os.path.join(include, 'urcu-compat.h')) as f:
        text = f.read()
    parts = []
    for what in ('MAJOR', 'MINOR', 'PATCH'):
        m = re.search(r'^#define\s+URCU_COMPAT_VERSION_%s\s+(\d+)\s*$' % what, text, re.M)
        if not m:
            sys.exit('urcu-compat.h: no URCU_COMPAT_VERSION_%s' % what)
        parts.append(m.group(1))
    return '.'.join(parts)


def do_compile(include, project_version):
    failed = False
    version = header_version(include)
    if version != project_version:
        print('FAIL: urcu-compat.h says %s, meson.build says %s' % (version, project_version))
        failed = True
    else:
        print('version macros: %s, as meson.build' % version)

    cflags = urcu_cflags('liburcu')
    ccs = compilers()
    # Does liburcu's <urcu.h> select mb by itself (0.7.15 - 0.7.17)?
    rc, _, _ = compile_one(ccs[0][0], ccs[0][1], ccs[0][2],
                           '#include <urcu.h>\n#ifndef RCU_MB\n#error memb\n#endif\n',
                           cflags, include)
    urcu_h = 'mb' if rc == 0 else 'memb'
    if urcu_h == 'mb':
        print('note: this liburcu\'s <urcu.h> is the mb flavor (RCU_MB)')
    jobs = []
    for name, select, flavor in SELECTORS:
        rc, out, _ = compile_one(ccs[0][0], ccs[0][1], ccs[0][2], select, cflags, include)
        if rc != 0:
            print('note: %s: not in this liburcu, not tried' % name)
            continue
        if flavor == 'memb' and not select.startswith('#include <urcu/'):
            flavor = urcu_h
        for lgpl in (False, True):
            for emul in (False, True):
                src = (('#define _LGPL_SOURCE\n' if lgpl else '') +
                       ('#define URCU_COMPAT_FORCE_EMULATION 1\n' if emul else '') +
                       select + BODY % {'flavor': flavor, 'emul': emul})
                for cc, lang, std in ccs:
                    label = '%-22s %-12s %-9s %s %s' % (
                        name, '_LGPL_SOURCE' if lgpl else '-',
                        'emulation' if emul else 'default', cc,
                        '-std=' + std if std else '(default standard)')
                    jobs.append((label, name, known_broken(name, emul), cc, lang, std, src))

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda j: compile_one(j[3], j[4], j[5], j[6], cflags, include),
                                jobs))
    counts = {'ok': 0, 'known': 0}
    known = {}
    for (label, name, broken, cc, lang, std, src), (rc, out, cmd) in zip(jobs, results):
        if rc == 0 and not broken:
            counts['ok'] += 1
            continue
        if rc != 0 and broken and only_because(out, broken):
            counts['known'] += 1
            known.setdefault(name, []).append(cc)
            continue
        failed = True
        if rc == 0:
            print('UNEXPECTED PASS: %s (fixed? drop it from known_broken())' % label)
            continue
        print('FAIL: %s' % label)
        print('  $ ' + ' '.join(cmd) + '  <<EOF')
        print(src + 'EOF')
        print(out)
    for name, ccs_failed in sorted(known.items()):
        print('known failure (%s): %s, forced emulation (%d compilations)'
              % (known_broken(name, True), name, len(ccs_failed)))
    print('%d combinations compiled, %d known failures' % (counts['ok'], counts['known']))
    return failed


def do_link(include, work, flavor, mode, lib, known_abort):
    f = FLAVORS[flavor]
    cxxs = [c for c in ('g++', 'clang++') if shutil.which(c)]
    if not cxxs:
        skip('no C++ compiler')
    lib = os.path.abspath(lib)
    cflags = urcu_cflags(f['urcu'])
    libs = pkg_config('--libs', f['urcu'])
    name, native, _ = header_decision(flavor, mode, include)
    known = 0
    for cxx in cxxs:
        d = work_dir(os.path.join(work, cxx))
        write(os.path.join(d, 'main.cpp'),
              app_source(flavor, mode, os.path.join(HERE, 'program.c')))
        run([cxx] + WARNINGS + ['-I', include] + cflags +
            ['-o', 'app', 'main.cpp', lib, '-Wl,-rpath,' + os.path.dirname(lib)] +
            libs + ['-pthread'], cwd=d)
        verdict = check_program(['./app', mode_name(native), name], known_abort, cwd=d)
        if verdict == 'failed':
            sys.exit('the program did not report ok')
        known += verdict == 'known'
    if known:
        raise KnownExitAbort('built with %s and ran; liburcu 0.7 (signal) aborted at exit'
                             % ', '.join(cxxs))
    return False


def main(argv, known):
    if len(argv) == 4 and argv[1] == 'compile':
        failed = do_compile(os.path.abspath(argv[2]), argv[3])
    elif len(argv) == 7 and argv[1] == 'link':
        failed = do_link(os.path.abspath(argv[2]), *argv[3:], known_abort=argv[4] in known)
    else:
        sys.exit(__doc__)
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    ARGV, KNOWN = known_abort_option(sys.argv)
    main_expecting(lambda: main(ARGV, KNOWN), bool(KNOWN))
