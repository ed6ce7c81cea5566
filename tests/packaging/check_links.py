#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every link and every file name of README.md and doc/*.md leads somewhere.

    check_links.py SOURCE_ROOT

In README.md and every doc/*.md:
- each relative Markdown link [text](target) names a file or directory
  of the tree (relative to the page), and its #anchor, if any, a heading
  of the target page (GitHub's rule: lower case, punctuation dropped,
  spaces to hyphens);
- each path of the tree the text names (in prose, code spans and code
  blocks), that is a word starting with one of the tree's top directories
  (`compat/`, `doc/`, `tests/`, ...), exists; `{a,b}` alternatives and
  `*` patterns are expanded;
- each bare file name in a code span with one of the tree's extensions
  (`daemon.c`, `mode.h`, `api.md`, ...) is the name of a file of the
  tree, unless the page lists it as a file of the reader's own, on a line
  `<!-- not in this tree: NAME ... -->`.
"""
import glob
import os
import re
import sys

TOP_DIRS = ['.ci', 'bench', 'compat', 'doc', 'examples', 'include', 'packaging',
            'scripts', 'tests']
SKIP_DIRS = {'.git', '__pycache__'}
EXTENSIONS = ('.c', '.h', '.py', '.sh', '.md', '.spec', '.3', '.build', '.txt', '.supp')
PATH_RE = re.compile(r'(?<![\w./~-])((?:%s)/[\w./{},*+-]*)'
                     % '|'.join(re.escape(d) for d in TOP_DIRS))
LINK_RE = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
SPAN_RE = re.compile(r'`([^`\n]+)`')
OWN_RE = re.compile(r'<!-- not in this tree: ([^>]*)-->')


def expand(path):
    """The paths a name with {a,b} alternatives stands for."""
    m = re.search(r'\{([^{}]*)\}', path)
    if not m:
        return [path]
    out = []
    for alt in m.group(1).split(','):
        out += expand(path[:m.start()] + alt + path[m.end():])
    return out


def slug(heading):
    text = re.sub(r'[`*_]', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    with open(path) as f:
        return {slug(m.group(1)) for m in re.finditer(r'^#+\s+(.*)$', f.read(), re.M)}


def tree_files(root):
    names = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        top = rel.split(os.sep)[0]
        if rel != '.' and (top not in TOP_DIRS or top.startswith('build')):
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        names.update(filenames)
    return names


def exists(root, path):
    path = path.rstrip('/')
    if '*' in path:
        return bool(glob.glob(os.path.join(root, path)))
    return os.path.exists(os.path.join(root, path))


def check_page(root, page, names):
    failed = []
    rel = os.path.relpath(page, root)
    with open(page) as f:
        text = f.read()
    own = set()
    for m in OWN_RE.finditer(text):
        own.update(m.group(1).split())
    for n, line in enumerate(text.split('\n'), 1):
        where = '%s:%d' % (rel, n)
        for m in LINK_RE.finditer(line):
            target = m.group(1)
            if re.match(r'^[a-z]+:', target):
                continue            # http:, https:, mailto:
            file_part, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(page), file_part)) \
                if file_part else page
            if not os.path.exists(dest):
                failed.append('%s: link to %s, which does not exist' % (where, target))
                continue
            if anchor and dest.endswith('.md') and anchor not in anchors(dest):
                failed.append('%s: link to %s: no such heading in %s'
                              % (where, target, os.path.relpath(dest, root)))
        for m in PATH_RE.finditer(line):
            path = m.group(1).rstrip('.,;:')
            for p in expand(path):
                if not exists(root, p):
                    failed.append('%s: names %s, which does not exist' % (where, p))
        for m in SPAN_RE.finditer(line):
            span = m.group(1).strip()
            if not re.match(r'^[\w.+-]+$', span) or not span.endswith(EXTENSIONS):
                continue
            if span not in names and span not in own:
                failed.append('%s: names the file %s, which is not in the tree '
                              '(or list it in "<!-- not in this tree: ... -->")' % (where, span))
    return failed


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.abspath(sys.argv[1])
    pages = [os.path.join(root, 'README.md')] + \
        sorted(glob.glob(os.path.join(root, 'doc', '*.md')))
    names = tree_files(root)
    failed = []
    for page in pages:
        failed += check_page(root, page, names)
    for what in failed:
        print('FAIL: ' + what)
    if failed:
        sys.exit(1)
    print('links and file names of %s: all lead to the tree'
          % ', '.join(os.path.relpath(p, root) for p in pages))


if __name__ == '__main__':
    main()
