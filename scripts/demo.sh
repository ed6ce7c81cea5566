#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The demonstration: installs the Debian packages that are missing,
# configures and builds build-demo/, then
#   1. runs examples/demo.c built both ways, with liburcu's own
#      rcu_barrier() and with the emulation: the detected mode, and one
#      barrier that covers callbacks on the default, per-CPU and own workers;
#   2. runs the example daemon under valgrind, once stopping itself after
#      a number of reloads, once stopped by SIGTERM from outside, and shows
#      valgrind's summaries.
# Exit status 0 when every step succeeded.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

build="build-demo"
valgrind_args=(--leak-check=full "--show-leak-kinds=definite,indirect,possible"
	       "--errors-for-leak-kinds=definite,indirect,possible" --error-exitcode=1)
status=0

install_missing_packages

rm -rf "$build"
meson setup --fatal-meson-warnings "$build" >"$build.setup.log" 2>&1 ||
	{ cat "$build.setup.log"; exit 1; }
mv "$build.setup.log" "$build/setup.log"
meson compile -C "$build" >"$build/compile.log" 2>&1 ||
	{ cat "$build/compile.log"; exit 1; }

echo "liburcu $(pkg-config --modversion liburcu), built in $build/"

for mode in native emul; do
	echo
	echo "=== demo, $mode build ($build/examples/demo-memb-$mode)"
	"$build/examples/demo-memb-$mode" || status=1
done

# Valgrind's heap, leak and error summaries, without the pid prefix.
show_summary()
{
	sed -n -e 's/^==[0-9]*== \{0,1\}//' \
		-e '/HEAP SUMMARY/,$ { /^For lists of/d; /^Rerun with/d; /^$/d; s/^/  /; p }' "$1"
}

echo
echo "=== daemon under valgrind, native build: stops itself after 20 reloads"
if valgrind "${valgrind_args[@]}" --log-file="$build/daemon-native.valgrind" \
	"$build/examples/daemon-memb-native" --reloads 20; then
	echo "daemon exited with status 0"
else
	echo "daemon or valgrind failed"
	status=1
fi
show_summary "$build/daemon-native.valgrind"

echo
echo "=== daemon under valgrind, emulated build: stopped by SIGTERM"
valgrind "${valgrind_args[@]}" --log-file="$build/daemon-emul.valgrind" \
	"$build/examples/daemon-memb-emul" >"$build/daemon-emul.out" &
pid=$!
# Its first line says it is up, with its signal handlers in place.
for _ in $(seq 300); do
	grep -q 'readers, pid' "$build/daemon-emul.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
cat "$build/daemon-emul.out"
sleep 1
echo "sending SIGTERM to $pid"
kill -TERM "$pid" 2>/dev/null || true
if wait "$pid"; then
	sed -n '2,$p' "$build/daemon-emul.out"
	echo "daemon exited with status 0"
else
	sed -n '2,$p' "$build/daemon-emul.out"
	echo "daemon or valgrind failed"
	status=1
fi
show_summary "$build/daemon-emul.valgrind"

echo
if [ "$status" -eq 0 ]; then
	echo "demo: all steps succeeded"
else
	echo "demo: some step failed"
fi
exit "$status"
