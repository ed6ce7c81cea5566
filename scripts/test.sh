#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite: installs the Debian packages that are missing,
# configures a fresh build-test/, builds every flavor the installed liburcu
# has in both modes (native and emulated), runs `meson test`, then the
# suite again under valgrind (`meson test --setup valgrind`).
#
# The examples run valgrind themselves in the first run, so the valgrind
# run leaves their suite out.
#
# The last line is "N passed, N failed" (", N skipped" added when some
# were), counted from meson's test logs of both runs. Exit status 0 only
# when nothing failed.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

build="build-test"

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
meson test -C "$build" --setup valgrind --no-suite examples || true

echo
exec python3 - "$build/meson-logs/testlog.json" \
	"$build/meson-logs/testlog-valgrind.json" <<'EOF'
import json
import sys

PASSED = ("OK", "EXPECTEDFAIL")
SKIPPED = ("SKIP",)
passed = failed = skipped = 0
failures = []

for path in sys.argv[1:]:
    run = "valgrind" if path.endswith("-valgrind.json") else "plain"
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
    print("failed (logs in build-test/meson-logs/):")
    for failure in failures:
        print("  " + failure)
summary = "%d passed, %d failed" % (passed, failed)
if skipped:
    summary += ", %d skipped" % skipped
print(summary)
sys.exit(1 if failed else 0)
EOF
