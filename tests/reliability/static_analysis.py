#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""cppcheck or clang-tidy on compat/ (urcu-compat.c and the parts it
includes) and include/urcu-compat.h.

usage: static_analysis.py cppcheck|clang-tidy TOOL BUILD_DIR SOURCE_ROOT

The library is compiled once per flavor and mode; the flavor changes
which code is compiled (QSBR, bp, the others), the mode too (native,
emulation). Each of those variants is analysed with the flags meson
compiles it with (from BUILD_DIR/compile_commands.json). liburcu's
headers are system headers: what is found inside them is liburcu's.
Where they are is asked of the compiler with those flags and the
environment (-I, -isystem, C_INCLUDE_PATH, CPATH, its default
directories): liburcu may be installed anywhere. cppcheck gets them
through a directory of links to liburcu's headers alone (given a whole
/usr/include, it trips on glibc's); without them it misreads liburcu's
list macros.

cppcheck: --enable=warning,performance,portability (style is left out: it
asks for narrower scopes and const parameters, a matter of taste, not of
reliability). It misreads liburcu's caa_container_of(), the offsetof()
idiom &((type *)0)->member, as a NULL dereference: that one report is
dropped on lines that use caa_container_of(), and only there.

clang-tidy: bugprone-* and clang-analyzer-*, less
bugprone-easily-swappable-parameters (the API's signatures are fixed) and
bugprone-reserved-identifier (_GNU_SOURCE and _LGPL_SOURCE are what glibc
and liburcu ask for). Any finding is an error, except one located inside
liburcu's own headers, which is printed and not counted: the analyzer
does not see that urcu_bp_register() sets the reader pointer that
_urcu_bp_read_ongoing() then reads (urcu/static/urcu-bp.h).

Exit status 0 when every variant is clean.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

CLANG_TIDY_CHECKS = ",".join([
    "-*",
    "bugprone-*",
    "-bugprone-easily-swappable-parameters",
    "-bugprone-reserved-identifier",
    "clang-analyzer-*",
])

# The variants that compile different code: default (memb, mb, signal
# share it), QSBR and bp, each in both modes.
FLAVOR_DEFINES = ("", "-DURCU_COMPAT_FLAVOR_QSBR", "-DURCU_COMPAT_FLAVOR_BP")


def run(args, cwd, stdin=None):
    """Run args; (exit status, stdout, stderr). Python 3.6 has no capture_output."""
    proc = subprocess.run(args, cwd=cwd, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    return proc.returncode, proc.stdout, proc.stderr


def urcu_root(compiler, directory, incs, sysincs, defines):
    """The directory <urcu.h> comes from for this compiler, these flags and
    the environment, or None."""
    args = [compiler, "-E", "-x", "c", "-"] + ["-I" + i for i in incs] + \
        ["-isystem" + i for i in sysincs] + defines
    status, out, err = run(args, directory, "#include <urcu.h>\n")
    m = re.search(r'^# \d+ "([^"]*/urcu\.h)"', out, re.M)
    if status or not m:
        print("cannot find liburcu's <urcu.h>: %s\n%s" % (" ".join(args), err))
        return None
    return os.path.realpath(os.path.dirname(m.group(1)))


def variants(build_dir, source):
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    seen = {}
    for entry in entries:
        if os.path.realpath(os.path.join(entry["directory"], entry["file"])) != source:
            continue
        args = shlex.split(entry["command"])
        incs, sysincs, defines, std = [], [], [], []
        i = 1
        while i < len(args):
            arg = args[i]
            if arg in ("-I", "-isystem") and i + 1 < len(args):
                i += 1
                arg += args[i]
            path = None
            if arg.startswith("-isystem"):
                path = arg[len("-isystem"):]
            elif arg.startswith("-I"):
                path = arg[2:]
            if path is not None:
                path = os.path.realpath(os.path.join(entry["directory"], path))
                (sysincs if arg.startswith("-isystem") else incs).append(path)
            elif arg.startswith("-D"):
                defines.append(arg)
            elif arg.startswith("-std="):
                std.append(arg)
            i += 1
        flavor = next((d for d in defines if d in FLAVOR_DEFINES), "")
        key = (flavor, tuple(d for d in defines if d.startswith("-DURCU_COMPAT_FORCE")))
        if key not in seen:
            root = urcu_root(args[0], entry["directory"], incs, sysincs, defines)
            seen[key] = (defines, incs, std, root)
    return [seen[k] for k in sorted(seen)]


def is_system(path, root):
    return path.startswith("/usr/") or (root is not None and path.startswith(root + "/"))


def urcu_headers_only(root, work):
    """A directory of links to liburcu's headers in root, for cppcheck."""
    d = tempfile.mkdtemp(prefix="urcu-headers-", dir=work)
    for name in os.listdir(root):
        if name.startswith("urcu"):
            os.symlink(os.path.join(root, name), os.path.join(d, name))
    return d


def run_cppcheck(tool, root, source, defines, incs, urcu, work):
    if urcu is None:
        return ["liburcu's headers not found"]
    headers = urcu_headers_only(urcu, work)
    args = [tool, "--enable=warning,performance,portability", "--std=c99",
            "--inline-suppr", "-q", "--suppress=missingIncludeSystem",
            "--suppress=*:/usr/include/*", "--suppress=*:%s/*" % headers,
            "--suppress=*:%s/*" % urcu,
            "--template={file}:{line}:{column}: {severity}: {message} [{id}]",
            "-D__GNUC__=12", "-D__x86_64__", "-D__linux__"]
    args += defines + ["-I" + i for i in incs if i != urcu] + ["-I" + headers, source]
    _, _, err = run(args, root)
    findings = []
    for line in err.splitlines():
        m = re.match(r"(.+?):(\d+):\d+: \w+: .* \[(\w+)\]$", line)
        if not m:
            if line.strip() and not line.startswith((" ", "^")):
                findings.append(line)
            continue
        path, lineno, ident = m.group(1), int(m.group(2)), m.group(3)
        if ident == "nullPointer":
            with open(os.path.join(root, path)) as f:
                text = f.read().splitlines()
            if "caa_container_of(" in text[lineno - 1]:
                continue
        findings.append(line)
    return findings


def run_clang_tidy(tool, root, source, defines, incs, std, urcu):
    if urcu is None:
        return ["liburcu's headers not found"]
    header_filter = re.escape(root) + "/(include|compat)/.*"
    args = [tool, "--quiet", "--checks=" + CLANG_TIDY_CHECKS,
            "--header-filter=" + header_filter, source, "--"]
    for inc in incs:
        if inc != urcu:
            args += ["-isystem" if is_system(inc, urcu) else "-I", inc]
    args += ["-isystem", urcu] + defines + std + ["-pthread"]
    _, out, err = run(args, root)
    findings = []
    for line in (out + err).splitlines():
        if not re.search(r": (warning|error): ", line):
            continue
        if is_system(line.split(":", 1)[0], urcu):
            print("  ignored, in liburcu's header: " + line)
            continue
        findings.append(line)
    return findings


def main(argv):
    if len(argv) != 5 or argv[1] not in ("cppcheck", "clang-tidy"):
        print(__doc__)
        return 2
    kind, tool, build_dir, root = argv[1:]
    root = os.path.realpath(root)
    source = os.path.realpath(os.path.join(root, "compat", "urcu-compat.c"))
    found = 0
    todo = variants(build_dir, source)
    if not todo:
        print("no compile command for %s in %s" % (source, build_dir))
        return 1
    work = tempfile.mkdtemp(prefix="static-analysis-", dir=os.path.realpath(build_dir))
    for defines, incs, std, urcu in todo:
        name = " ".join(d for d in defines if "FLAVOR" in d or "FORCE" in d) or "default"
        if kind == "cppcheck":
            findings = run_cppcheck(tool, root, source, defines, incs, urcu, work)
        else:
            findings = run_clang_tidy(tool, root, source, defines, incs, std, urcu)
        print("%s %s: %d finding(s), liburcu's headers from %s" % (kind, name, len(findings), urcu))
        for line in findings:
            print("  " + line)
        found += len(findings)
    shutil.rmtree(work)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
