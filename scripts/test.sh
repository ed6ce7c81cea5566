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
# suite there, then the C tests on other liburcu releases
# (scripts/releases.sh: 0.12.2 and 0.15.x, each built against its own
# headers, and build-test run on 0.15.x's library).
#
# The examples run valgrind themselves in the first run, so the valgrind
# run leaves their suite out; so does the sanitizer run (valgrind and
# ASan do not mix), which also leaves out 'packaging' (it checks the
# library's exports and install, which a sanitizer's run-time changes).
# The static analysis runs once. URCU_COMPAT_STRESS_SECONDS (default 3)
# is how long each stress test runs. The sanitizers are those the
# compiler can build and run a program with: address and undefined (gcc
# >= 4.9), else address alone, else none (said, and counted as skipped).
#
# The last line is "N passed, N failed" (", N skipped" added when some
# were), counted from meson's test logs of every run and leg; a run or
# leg that left no log counts as a failure. Before it, the time each run
# took. Exit status 0 only when nothing failed.
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

# Runs "$@" (its failures are counted from the logs), adds "$1: N s" to
# the timings.
timings=""
timed()
{
	local what="$1" start=$SECONDS

	shift
	"$@" || true
	timings="$timings  $what: $((SECONDS - start)) s"$'\n'
}

# The sanitizers build-asan/ is built with: the first list the compiler
# can build and run a program with; nothing if none.
probe_sanitizers()
{
	local tmp list

	tmp="$(mktemp -d)"
	echo 'int main(void) { return 0; }' >"$tmp/probe.c"
	for list in address,undefined address; do
		if "${CC:-cc}" -fsanitize="$list" -o "$tmp/probe" "$tmp/probe.c" \
			>/dev/null 2>&1 && "$tmp/probe"; then
			echo "$list"
			break
		fi
	done
	rm -rf "$tmp"
}

run_plain()
{
	echo
	echo "=== meson test: every flavor, both modes"
	meson test -C "$build"
}

run_valgrind()
{
	echo
	echo "=== meson test --setup valgrind"
	meson test -C "$build" --setup valgrind --no-suite examples --no-suite static
}

run_sanitizers()
{
	echo
	echo "=== meson test in $asan_build: -fsanitize=$sanitizers"
	if ! meson setup --fatal-meson-warnings -Db_sanitize="$sanitizers" "$asan_build" ||
		! meson compile -C "$asan_build"; then
		echo "configuring or building $asan_build failed" >&2
		return 1
	fi
	# UBSan stops at the first report; only liburcu's headers are suppressed.
	# intercept_tls_get_addr=0: up to GCC 13 / LLVM 16 the run-time's
	# __tls_get_addr interceptor can take a dynamic TLS block (the
	# library's, loaded by a plugin: test_unload) for a pre-2.25 glibc
	# header and LeakSanitizer's tracer then crashes at exit (4 of 10
	# test_unload runs here without it, 0 of 10 with it).
	ASAN_OPTIONS="detect_leaks=1:intercept_tls_get_addr=0" \
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/reliability/ubsan.supp" \
		meson test -C "$asan_build" --no-suite examples --no-suite packaging \
		--no-suite static
}

# Each entry: "run|log", "run|log|build-releases/<leg>" (the leg's .label
# names it, its .failed says why it did not run) or "run|skip:reason".
runs=("plain|$build/meson-logs/testlog.json"
      "valgrind|$build/meson-logs/testlog-valgrind.json")

timed "meson test" run_plain
timed "valgrind" run_valgrind

rm -rf "$asan_build"
sanitizers="$(probe_sanitizers)"
case "$sanitizers" in
address,undefined)
	runs+=("asan+ubsan|$asan_build/meson-logs/testlog.json")
	;;
address)
	echo
	echo "=== the compiler cannot build -fsanitize=address,undefined: AddressSanitizer alone"
	runs+=("asan|$asan_build/meson-logs/testlog.json")
	;;
*)
	echo
	echo "=== no sanitizer run: the compiler cannot build -fsanitize=address"
	runs+=("sanitizers|skip:the compiler cannot build -fsanitize=address")
	;;
esac
[ -n "$sanitizers" ] && timed "sanitizers ($sanitizers)" run_sanitizers

for leg in 0.12.2 0.15.x 0.13.2-on-0.15.x; do
	timed "leg $leg" scripts/releases.sh "$leg"
done
runs+=("0.12.2|build-releases/0.12.2/meson-logs/testlog-run-bullseye.json|build-releases/0.12.2"
       "0.15.x|build-releases/0.15.x/meson-logs/testlog-run-trixie.json|build-releases/0.15.x"
       "0.13.2-on-0.15.x|$build/meson-logs/testlog-run-trixie.json|build-releases/0.13.2-on-0.15.x")

echo
echo "time:"
printf '%s' "$timings"
echo
exec python3 - "${runs[@]}" <<'EOF'
import json
import sys

PASSED = ("OK", "EXPECTEDFAIL")
SKIPPED = ("SKIP",)
passed = failed = skipped = 0
failures = []
not_run = []


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


for arg in sys.argv[1:]:
    run, path, *leg = arg.split("|")
    if path.startswith("skip:"):
        skipped += 1
        not_run.append("%s: %s" % (run, path[len("skip:"):]))
        continue
    why = None
    if leg:
        run = read(leg[0] + ".label") or run
        why = read(leg[0] + ".failed")
    if why is not None:
        failed += 1
        failures.append("%s: %s" % (run, why))
        continue
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

if not_run:
    print("not run:")
    for what in not_run:
        print("  " + what)
if failures:
    print("failed (logs: meson-logs/ of build-test/, build-asan/, build-releases/*/):")
    for failure in failures:
        print("  " + failure)
summary = "%d passed, %d failed" % (passed, failed)
if skipped:
    summary += ", %d skipped" % skipped
print(summary)
sys.exit(1 if failed else 0)
EOF
