#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The API reference and the man page, kept in step with the header.

    check_doc.py HEADER API_MD MAN_PAGE VERSION

- doc/api.md has a "### name()" section for every function the header
  declares for applications (the urcu_compat_* names and rcu_barrier());
- the man page is what md2man.py makes of doc/api.md for VERSION, and has
  a subsection for every function of doc/api.md;
- its "Exported symbols" section names the rest of the header's ABI;
- groff formats it without a warning (when groff is installed).
"""
import os
import re
import shutil
import subprocess
import sys

import check_exports
import md2man


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    header, api_md, man, version = sys.argv[1:]
    failed = []
    with open(header) as f:
        htext = f.read()
    with open(api_md) as f:
        md = f.read()
    with open(man) as f:
        page = f.read()

    # The API: the header's map block under "/* The API (doc/api.md). */"
    # (its other names are the ABI, listed under "Exported symbols").
    block = re.search(r'^/\* The API \(doc/api\.md\)\. \*/\n((?:#define .*\n)+)', htext, re.M)
    if not block:
        sys.exit('%s: no "/* The API (doc/api.md). */" block' % header)
    functions = ['rcu_barrier'] + re.findall(
        r'^#define\s+(urcu_compat_[a-z0-9_]+)\s+URCU_COMPAT_SYM\(', block.group(1), re.M)
    sections = re.findall(r'^### ([A-Za-z0-9_]+)\(\)$', md, re.M)
    for name in functions:
        if name not in sections:
            failed.append('%s: no "### %s()" section for a function of %s'
                          % (api_md, name, os.path.basename(header)))
    for name in sections:
        if name not in functions:
            failed.append('%s: "### %s()" is not a function of %s'
                          % (api_md, name, os.path.basename(header)))
        if '.SS %s()\n' % name.replace('-', '\\-') not in page:
            failed.append('%s: no subsection for %s()' % (man, name))

    # The "Exported symbols" section names every URCU_COMPAT_SYM() name of
    # the header that is not a documented function, and no other.
    m = re.search(r'^## Exported symbols\n(.*?)(?=^## )', md, re.M | re.S)
    if not m:
        failed.append('%s: no "## Exported symbols" section' % api_md)
    else:
        names = check_exports.header_names(header)
        abi = names[None] | names[True] | names[False]
        listed = set(n for n in re.findall(r'`([a-z_][a-z0-9_]*)`', m.group(1))
                     if not n.startswith('urcu_compat_'))
        documented = listed | set(n[len('urcu_compat_'):] if n != 'rcu_barrier' else n
                                  for n in sections)
        for n in sorted(abi - documented):
            failed.append('%s: the header exports %s, missing from "Exported symbols"'
                          % (api_md, n))
        for n in sorted(listed - abi):
            failed.append('%s: "Exported symbols" lists %s, which the header does not export'
                          % (api_md, n))

    try:
        wanted = md2man.convert(md, version)
    except ValueError as e:
        failed.append('%s: %s' % (api_md, e))
        wanted = page
    if wanted != page:
        failed.append('%s is not up to date with %s; regenerate it with\n'
                      '    python3 tests/packaging/md2man.py doc/api.md %s > doc/urcu-compat.3'
                      % (man, api_md, version))

    if shutil.which('groff'):
        p = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', man],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if p.returncode or p.stdout.strip():
            failed.append('groff warns about %s:\n%s' % (man, p.stdout))
    else:
        print('note: groff not installed, the page was not formatted')

    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('%d functions documented in %s and %s (version %s)'
          % (len(sections), os.path.basename(api_md), os.path.basename(man), version))


if __name__ == '__main__':
    main()
