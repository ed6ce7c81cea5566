#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite: installs the Debian packages that are missing,
# configures a fresh build-test/, builds every flavor the installed liburcu
# has in both modes (native and emulated), runs `meson test` (with the
# static analysis of the library, suite 'static': cppcheck, clang-tidy),
# then the suite again under valgrind (`meson test --setup valgrind`),
# then builds build-asan/ with AddressSanitizer and
# UndefinedBehaviorSanitizer (-Db_sanitize=address,undefined) and runs the
# suite there.
#
# The examples run valgrind themselves in the first run, so the valgrind
# run leaves their suite out; so does the sanitizer run (valgrind and
# ASan do not mix), which also leaves out 'packaging' (it checks the
# library's exports and install, which a sanitizer's run-time changes).
# The static analysis runs once. URCU_COMPAT_STRESS_SECONDS (default 3)
# is how long each stress test runs.
#
# The last line is "N passed, N failed" (", N skipped" added when some
# were), counted from meson's test logs of the three runs. Exit status 0
# only when nothing failed.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

build="build-test"
asan_build="build-asan"

install_missing_packages

rm -rf "$build"
if ! meson setup --fatal-meson-warnings "$build" || ! meson compile -C "$build"; then
	echo "configuring or building $build failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

echo
echo "=== meson test: every flavor, both modes"
meson test -C "$build" || true

echo
echo "=== meson test --setup valgrind"
meson test -C "$build" --setup valgrind --no-suite examples --no-suite static || true

echo
echo "=== meson test in $asan_build: AddressSanitizer + UndefinedBehaviorSanitizer"
rm -rf "$asan_build"
if meson setup --fatal-meson-warnings -Db_sanitize=address,undefined "$asan_build" &&
	meson compile -C "$asan_build"; then
	# UBSan stops at the first report; only liburcu's headers are suppressed.
	ASAN_OPTIONS="detect_leaks=1" \
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/reliability/ubsan.supp" \
		meson test -C "$asan_build" --no-suite examples --no-suite packaging \
		--no-suite static || true
else
	echo "configuring or building $asan_build failed" >&2
fi

echo
exec python3 - "$build/meson-logs/testlog.json" \
	"$build/meson-logs/testlog-valgrind.json" \
	"$asan_build/meson-logs/testlog.json" <<'EOF'
import json
import sys

PASSED = ("OK", "EXPECTEDFAIL")
SKIPPED = ("SKIP",)
passed = failed = skipped = 0
failures = []

for path in sys.argv[1:]:
    if path.endswith("-valgrind.json"):
        run = "valgrind"
    elif path.startswith("build-asan"):
        run = "asan+ubsan"
    else:
        run = "plain"
    try:
        with open(path) as log:
            lines = [line for line in log if line.strip()]
    except OSError as err:
        failed += 1
        failures.append("%s: no test log (%s)" % (run, err.strerror))
        continue
    for line in lines:
        test = json.loads(line)
        result = test.get("result")
        if result in PASSED:
            passed += 1
        elif result in SKIPPED:
            skipped += 1
        else:
            failed += 1
            failures.append("%s: %s: %s" % (run, test.get("name"), result))

if failures:
    print("failed (logs in build-test/meson-logs/, build-asan/meson-logs/):")
    for failure in failures:
        print("  " + failure)
summary = "%d passed, %d failed" % (passed, failed)
if skipped:
    summary += ", %d skipped" % skipped
print(summary)
sys.exit(1 if failed else 0)
EOF
