#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turn doc/api.md into the man page urcu-compat(3).

    md2man.py doc/api.md VERSION > doc/urcu-compat.3

Knows the Markdown doc/api.md is written in, and nothing more: a title
line "# name - description", "##" and "###" headings, paragraphs, "- "
lists (continuation lines indented), fenced code blocks, `code`,
**bold** and HTML comments (dropped). Anything else is an error, so that
the page cannot silently lose text.
"""
import re
import sys


def escape(text):
    return text.replace('\\', '\\e')


def code_text(text):
    return escape(text).replace('-', '\\-')


def inline(text):
    """Markdown inline markup to roff."""
    out = []
    for i, part in enumerate(re.split(r'(`[^`]*`)', text)):
        if i % 2:
            out.append('\\fB\\%' + code_text(part[1:-1]) + '\\fR')
            continue
        part = escape(part)
        part = re.sub(r'\*\*(.+?)\*\*', r'\\fB\1\\fR', part)
        if '*' in part or '[' in part and '](' in part:
            raise ValueError('markup md2man does not know: %r' % text)
        out.append(part)
    return ''.join(out)


def line_out(text):
    """One output line; roff must not take it for a request."""
    if text.startswith(('.', "'")):
        return '\\&' + text
    return text


def convert(md, version):
    lines = md.split('\n')
    out = []
    # Drop HTML comments (whole lines).
    kept, in_comment = [], False
    for line in lines:
        if in_comment or line.startswith('<!--'):
            in_comment = '-->' not in line
            continue
        kept.append(line)
    lines = kept

    m = re.match(r'^# (\S+) - (.+)$', lines[0])
    if not m:
        raise ValueError('the first line must be "# name - description"')
    name, description = m.groups()
    out.append('.\\" SPDX-License-Identifier: LGPL-2.1-or-later')
    out.append('.\\" Generated from doc/api.md by tests/packaging/md2man.py; do not edit.')
    out.append('.TH %s 3 "" "%s %s" "%s"' % (name.upper(), name, version, name))
    out.append('.SH NAME')
    out.append(line_out('%s \\- %s' % (name, inline(description))))

    i = 1
    para = []

    def flush():
        if para:
            out.append('.PP')
            out.append(line_out(inline(' '.join(para))))
            del para[:]

    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            flush()
            i += 1
            out.append('.PP')
            out.append('.RS 4')
            out.append('.nf')
            while not lines[i].startswith('```'):
                out.append(line_out(code_text(lines[i].replace('\t', '        '))))
                i += 1
            out.append('.fi')
            out.append('.RE')
            i += 1
            continue
        if line.startswith('### '):
            flush()
            out.append('.SS ' + inline(line[4:]))
        elif line.startswith('## '):
            flush()
            out.append('.SH ' + inline(line[3:].upper()))
        elif line.startswith('#'):
            raise ValueError('heading level not supported: %r' % line)
        elif line.startswith('- '):
            flush()
            item = [line[2:]]
            while i + 1 < len(lines) and lines[i + 1].startswith('  ') and \
                    lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out.append('.IP \\(bu 2')
            out.append(line_out(inline(' '.join(item))))
        elif not line.strip():
            flush()
        elif line.startswith((' ', '\t', '|', '>')):
            raise ValueError('markup md2man does not know: %r' % line)
        else:
            para.append(line.strip())
        i += 1
    flush()
    return '\n'.join(out) + '\n'


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        md = f.read()
    try:
        sys.stdout.write(convert(md, sys.argv[2]))
    except ValueError as e:
        sys.exit('%s: %s' % (sys.argv[1], e))


if __name__ == '__main__':
    main()
