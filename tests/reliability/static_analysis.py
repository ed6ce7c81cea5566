#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""cppcheck or clang-tidy on compat/urcu-compat.c and include/urcu-compat.h.

usage: static_analysis.py cppcheck|clang-tidy TOOL BUILD_DIR SOURCE_ROOT

The library is compiled once per flavor and mode; the flavor changes
which code is compiled (QSBR, bp, the others), the mode too (native,
emulation). Each of those variants is analysed with the flags meson
compiles it with (from BUILD_DIR/compile_commands.json). liburcu's
headers are system headers: what is found inside them is liburcu's.

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
import subprocess
import sys

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


def variants(build_dir, source):
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    seen = {}
    for entry in entries:
        if os.path.realpath(os.path.join(entry["directory"], entry["file"])) != source:
            continue
        args = shlex.split(entry["command"])
        keep = []
        for arg in args[1:]:
            if arg.startswith(("-I", "-D", "-std=")) or arg == "-pthread":
                keep.append(arg)
        incs = []
        for arg in keep:
            if arg.startswith("-I"):
                path = os.path.join(entry["directory"], arg[2:])
                incs.append(os.path.realpath(path))
        defines = [a for a in keep if a.startswith("-D")]
        flavor = next((d for d in defines if d in FLAVOR_DEFINES), "")
        key = (flavor, tuple(d for d in defines if d.startswith("-DURCU_COMPAT_FORCE")))
        if key not in seen:
            seen[key] = (defines, incs, [a for a in keep if a.startswith("-std=")])
    return [seen[k] for k in sorted(seen)]


def is_system(path):
    return path.startswith("/usr/")


def run_cppcheck(tool, root, source, defines, incs):
    args = [tool, "--enable=warning,performance,portability", "--std=c99",
            "--inline-suppr", "-q", "--suppress=missingIncludeSystem",
            "--suppress=*:/usr/include/*",
            "--template={file}:{line}:{column}: {severity}: {message} [{id}]",
            "-D__GNUC__=12", "-D__x86_64__", "-D__linux__"]
    args += defines + ["-I" + i for i in incs] + [source]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=root)
    findings = []
    for line in proc.stderr.splitlines():
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


def run_clang_tidy(tool, root, source, defines, incs, std):
    header_filter = re.escape(os.path.join(root, "include")) + "/.*"
    args = [tool, "--quiet", "--checks=" + CLANG_TIDY_CHECKS,
            "--header-filter=" + header_filter, source, "--"]
    for inc in incs:
        args += ["-isystem" if is_system(inc) else "-I", inc]
    args += defines + std + ["-pthread"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=root)
    out = proc.stdout + proc.stderr
    findings = []
    for line in out.splitlines():
        if not re.search(r": (warning|error): ", line):
            continue
        if is_system(line.split(":", 1)[0]):
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
    for defines, incs, std in todo:
        name = " ".join(d for d in defines if "FLAVOR" in d or "FORCE" in d) or "default"
        if kind == "cppcheck":
            findings = run_cppcheck(tool, root, source, defines, incs)
        else:
            findings = run_clang_tidy(tool, root, source, defines, incs, std)
        print("%s %s: %d finding(s)" % (kind, name, len(findings)))
        for line in findings:
            print("  " + line)
        found += len(findings)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
