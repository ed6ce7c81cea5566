#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The RPM spec: builds packaging/urcu-compat.spec with rpmbuild -bb.

    check_rpm.py SOURCE_ROOT WORK_DIR PROJECT_VERSION

- the spec's Version is meson.build's project version (PROJECT_VERSION),
  and its %prep checks the same in the unpacked sources;
- the spec uses no macro that EL7's rpm 4.11 and redhat-rpm-config lack
  (%meson, %autosetup, %ldconfig_scriptlets, ...), and %license only
  with its fallback for rpm 4.11;
- a source tarball urcu-compat-VERSION.tar.gz is made from the tree, and
  `rpmbuild -bb --nodeps` builds it in WORK_DIR/rpmbuild (a scratch
  _topdir; --nodeps: the build machine's package database need not be
  an RPM one);
- `rpm -qlp` of each package lists exactly the expected files: the
  shared libraries (.so.0 and .so.VERSION) of every flavor the build's
  liburcu has in the main package; the header, the pkg-config files, the
  .so links and the man page in -devel; and -devel requires the main
  package of the same version and release.

rpmbuild missing is a failure, not a skip: CI installs it (scripts/deps.sh).
"""
import os
import re
import shutil
import sys
import tarfile

from flavors import FLAVORS, have_pkg, run, work_dir

# What EL7 (rpm 4.11, redhat-rpm-config 9.1) does not define, and what
# the spec must therefore not use.
EL7_MISSING = ['%meson', '%{meson', '%meson_build', '%meson_install', '%meson_test',
               '%autosetup', '%autopatch', '%ldconfig_scriptlets', '%set_build_flags',
               '%{_vpath_builddir}', '%{_vpath_srcdir}', '%autorelease', '%autochangelog',
               '%{build_cflags}', '%make_build', '%make_install']
LICENSE_FALLBACK = '%global license %%doc'

# The tree a source tarball carries (build directories left out).
DIST = ['COPYING', 'README.md', 'meson.build', 'meson_options.txt', 'bench', 'compat',
        'doc', 'examples', 'include', 'packaging', 'scripts', 'tests']


def spec_problems(spec, version):
    problems = []
    m = re.search(r'^Version:\s*(\S+)\s*$', spec, re.M)
    if not m:
        problems.append('the spec has no Version line')
    elif m.group(1) != version:
        problems.append('the spec says Version %s, meson.build says %s' % (m.group(1), version))
    # Comments may name the macros; the rest of the spec may not.
    body = '\n'.join(line for line in spec.split('\n') if not line.lstrip().startswith('#'))
    for macro in EL7_MISSING:
        if re.search(re.escape(macro) + r'(?![A-Za-z0-9_])', body):
            problems.append('the spec uses %s, which EL7\'s rpm lacks' % macro)
    if re.search(r'^%license\b', body, re.M) and LICENSE_FALLBACK not in body:
        problems.append('the spec uses %%license without "%s" for rpm 4.11' % LICENSE_FALLBACK)
    return problems


def make_tarball(root, path, top):
    def keep(info):
        name = os.path.basename(info.name)
        if name == '__pycache__' or name.endswith('.pyc'):
            return None
        return info
    with tarfile.open(path, 'w:gz') as tar:
        for name in DIST:
            tar.add(os.path.join(root, name), arcname=top + '/' + name, filter=keep)


def rpm_query(*args):
    return [line for line in run(['rpm'] + list(args)).stdout.splitlines() if line.strip()]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    root, work, version = sys.argv[1:]
    root = os.path.abspath(root)
    for tool in ('rpmbuild', 'rpm'):
        if not shutil.which(tool):
            sys.exit('FAIL: %s is not installed (Debian: apt-get install rpm)' % tool)
    spec_path = os.path.join(root, 'packaging', 'urcu-compat.spec')
    with open(spec_path) as f:
        spec = f.read()
    failed = spec_problems(spec, version)

    work = work_dir(os.path.abspath(work))
    topdir = os.path.join(work, 'rpmbuild')
    for d in ('SOURCES', 'SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT'):
        os.makedirs(os.path.join(topdir, d))
    top = 'urcu-compat-' + version
    make_tarball(root, os.path.join(topdir, 'SOURCES', top + '.tar.gz'), top)
    defines = ['--define', '_topdir ' + topdir]
    run(['rpmbuild', '-bb', '--nodeps'] + defines + [spec_path], timeout=1800)

    def ev(macro):
        return run(['rpm'] + defines + ['--eval', macro]).stdout.strip()
    libdir, incdir, mandir = ev('%{_libdir}'), ev('%{_includedir}'), ev('%{_mandir}')
    docdir = ev('%{_defaultdocdir}')
    licensedir = ev('%{?_licensedir}') or ev('%{?_defaultlicensedir}') or docdir

    rpms = {}
    for dirpath, _, names in os.walk(os.path.join(topdir, 'RPMS')):
        for name in names:
            if name.endswith('.rpm'):
                rpms[rpm_query('-qp', '--qf', '%{NAME}', os.path.join(dirpath, name))[0]] = \
                    os.path.join(dirpath, name)
    flavors = [fl for fl, f in FLAVORS.items() if have_pkg(f['urcu'])]
    if not flavors:
        failed.append('no liburcu flavor found by pkg-config')
    main_files = {licensedir + '/urcu-compat', licensedir + '/urcu-compat/COPYING',
                  docdir + '/urcu-compat', docdir + '/urcu-compat/README.md'}
    devel_files = {incdir + '/urcu-compat.h', mandir + '/man3/urcu-compat.3',
                   docdir + '/urcu-compat-devel',
                   docdir + '/urcu-compat-devel/api.md',
                   docdir + '/urcu-compat-devel/multipathd.md',
                   docdir + '/urcu-compat-devel/rhel7.md'}
    for fl in flavors:
        base = libdir + '/lib' + FLAVORS[fl]['compat'][3:]
        main_files |= {base + '.so.0', base + '.so.' + version}
        devel_files |= {base + '.so', libdir + '/pkgconfig/' + FLAVORS[fl]['compat'] + '.pc'}
    wanted = {'urcu-compat': main_files, 'urcu-compat-devel': devel_files}
    for name in sorted(set(rpms) - set(wanted)):
        if not name.startswith('urcu-compat-debug'):
            failed.append('unexpected package %s' % name)
    for name, files in sorted(wanted.items()):
        if name not in rpms:
            failed.append('no %s package built' % name)
            continue
        print('=== %s' % os.path.basename(rpms[name]))
        got = set()
        for f in rpm_query('-qlp', rpms[name]):
            # rpm's own build-id links (rpm 4.14+), not the spec's.
            if f.startswith('/usr/lib/.build-id'):
                continue
            # The man page may be compressed by the build's brp scripts.
            f = re.sub(r'(/man3/urcu-compat\.3)\.(gz|bz2|xz)$', r'\1', f)
            # Documentation directories: NAME-VERSION on EL7 (and Debian's
            # rpm), NAME on Fedora.
            for d in (docdir, licensedir):
                f = re.sub('^(%s/urcu-compat(?:-devel)?)-%s(/|$)' % (re.escape(d),
                                                                       re.escape(version)),
                           r'\1\2', f)
            got.add(f)
        for f in sorted(got - files):
            failed.append('%s has an unexpected file %s' % (name, f))
        for f in sorted(files - got):
            failed.append('%s lacks %s' % (name, f))
    if 'urcu-compat-devel' in rpms and 'urcu-compat' in rpms:
        vr = rpm_query('-qp', '--qf', '%{VERSION}-%{RELEASE}', rpms['urcu-compat'])[0]
        if not vr.startswith(version + '-'):
            failed.append('the package version is %s, not %s' % (vr, version))
        requires = rpm_query('-qp', '--requires', rpms['urcu-compat-devel'])
        if not any(re.match(r'^urcu-compat(\(\S+\))? = %s$' % re.escape(vr), r)
                   for r in requires):
            failed.append('urcu-compat-devel does not require urcu-compat = %s' % vr)

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('rpm spec: %s built with rpmbuild -bb, file lists as expected (%s)'
          % (', '.join(sorted(rpms)), ', '.join(flavors)))


if __name__ == '__main__':
    main()
