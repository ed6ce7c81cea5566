#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The C tests on other liburcu releases than the installed one, from
# Debian's binary packages (never built from source here):
#
#   bullseye  liburcu 0.12.2 (liburcu6): runs on this system's glibc;
#   trixie    liburcu 0.15.x (liburcu8t64): needs glibc >= 2.38, so
#             trixie's libc6 is extracted beside it and its programs run
#             on trixie's loader and libc.
#
# Everything lives in build-releases/: a separate apt state (its own
# lists, cache, status and sources file; the system's apt configuration,
# lists and packages are left as they are) for the mirror the system's own
# sources use, the downloaded packages, one root per suite (dpkg -x) with
# its pkg-config files pointing into it, and one build per leg. The legs:
#
#   0.12.2            build-releases/0.12.2, built against bullseye's
#                     headers and library, run on them;
#   0.15.x            build-releases/0.15.x, built against trixie's
#                     headers and library, run on them;
#   0.13.2-on-0.15.x  build-test (scripts/test.sh's main build, against
#                     the installed 0.13.2) run unchanged on trixie's
#                     library: same soname, and the case where a
#                     compile-time version test would join the worker
#                     thread twice. Its signal flavor is left out: 0.15
#                     has none, so those programs cannot start there.
#
# Each leg checks that every liburcu header its build read, and every
# liburcu library (and libc) its programs load, come from the release it
# names, then runs the C test programs of its build (test_barrier,
# test_lifecycle, the reliability tests, the examples); valgrind and the
# tests run by python (api, packaging, static analysis) stay in the main
# run, except test_exit_clean's own valgrind run of its exit program
# (trixie's libc6-dbg gives valgrind the loader's symbols there). Time
# limits are a fifth of the main run's, still several times
# what each test takes: a test that hangs costs two minutes, not ten.
#
# How trixie's programs run: in a private mount namespace (unshare -m),
# trixie's loader is bind-mounted over the system's and LD_LIBRARY_PATH
# names trixie's libraries, for the test program only. So the programs
# run unchanged (test_lifecycle re-executes itself from /proc/self/exe,
# which `ld-linux-x86-64.so.2 --library-path ... ./prog` would turn into
# the loader, and --library-path would not be inherited) and nothing
# outside the namespace sees it. Needs root or user namespaces.
#
# Logs: <build>/meson-logs/testlog-run-<suite>.json (meson names them
# after the wrapper). A leg that cannot fetch, configure or build writes
# the reason to build-releases/<leg>.failed and leaves no log: both count
# as a failure in scripts/test.sh, never as a skip.
#
# Usage: scripts/releases.sh [fetch|0.12.2|0.15.x|0.13.2-on-0.15.x ...]
# (default: all, in that order; 0.13.2-on-0.15.x needs build-test built).
# A leg fetches first when build-releases/ has no roots. Exit status 0
# when every step ran and its tests passed.
set -euo pipefail

cd "$(dirname "$0")/.."

top="$PWD/build-releases"
apt_dir="$top/apt"
bullseye_root="$top/root-bullseye"
trixie_root="$top/root-trixie"
multiarch="x86_64-linux-gnu"
loader="/lib64/ld-linux-x86-64.so.2"

# The URI of the system's Debian archive: where the system's own release
# (VERSION_CODENAME) comes from, as apt reads /etc/apt/sources.list{,.d}.
system_mirror()
{
	local codename

	# shellcheck disable=SC1091 # the system's file
	codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
	if [ -z "$codename" ]; then
		echo "no VERSION_CODENAME in /etc/os-release" >&2
		return 1
	fi
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info \
		--format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
		awk -v rel="$codename" '$2 == rel { print $1; exit }'
}

# apt-get on build-releases/apt's state instead of the system's.
apt_private()
{
	apt-get -q \
		-o Dir::State="$apt_dir/state" \
		-o Dir::State::status="$apt_dir/status" \
		-o Dir::Cache="$apt_dir/cache" \
		-o Dir::Etc::SourceList="$apt_dir/sources.list" \
		-o Dir::Etc::SourceParts="$apt_dir/sources.list.d" \
		-o Dir::Etc::Preferences="$apt_dir/preferences" \
		-o Dir::Etc::PreferencesParts="$apt_dir/preferences.d" \
		-o Acquire::Languages=none \
		-o APT::Sandbox::User="$(id -un)" \
		"$@"
}

# Writes the apt state, refreshes its lists, downloads the packages and
# extracts each suite's into its root.
fetch()
{
	local mirror keyring="" suite pkgs deb root pc

	echo
	echo "=== fetching liburcu from bullseye and trixie"
	rm -rf "$apt_dir" "$bullseye_root" "$trixie_root"
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
		"$apt_dir/sources.list.d" "$apt_dir/preferences.d" "$apt_dir/debs"
	: >"$apt_dir/status"
	: >"$apt_dir/preferences"

	mirror="$(system_mirror)" || return 1
	if [ -z "$mirror" ]; then
		echo "no Debian archive in the system's apt sources" >&2
		return 1
	fi
	if [ -r /usr/share/keyrings/debian-archive-keyring.gpg ]; then
		keyring="/usr/share/keyrings/debian-archive-keyring.gpg"
	fi
	{
		echo "# written by scripts/releases.sh from the system's sources"
		echo "deb ${keyring:+[signed-by=$keyring] }$mirror bullseye main"
		echo "deb ${keyring:+[signed-by=$keyring] }$mirror trixie main"
	} >"$apt_dir/sources.list"
	echo "mirror: $mirror"

	# Any list that cannot be fetched is an error, not a warning.
	apt_private -o APT::Update::Error-Mode=any update || return 1

	for suite in bullseye trixie; do
		case "$suite" in
		bullseye) pkgs="liburcu6/bullseye liburcu-dev/bullseye"; root="$bullseye_root" ;;
		# libc6-dbg: the loader's symbols, without which valgrind
		# (test_exit_clean runs its program under it) cannot start.
		trixie) pkgs="liburcu8t64/trixie liburcu-dev/trixie libc6/trixie libc6-dbg/trixie"
			root="$trixie_root" ;;
		esac
		mkdir -p "$apt_dir/debs/$suite" "$root"
		# shellcheck disable=SC2086 # one word per package
		(cd "$apt_dir/debs/$suite" && apt_private download $pkgs) || return 1
		for deb in "$apt_dir/debs/$suite"/*.deb; do
			dpkg -x "$deb" "$root" || return 1
			echo "$suite: $(basename "$deb")"
		done
		# Every /usr of the pkg-config files (prefix, includedir)
		# moves into the root.
		for pc in "$root/usr/lib/$multiarch/pkgconfig"/*.pc; do
			sed -i -e "s|=/usr\\b|=$root/usr|" "$pc"
		done
	done
}

# Records why a leg could not run; scripts/test.sh counts it a failure.
leg_failed()
{
	local leg="$1"

	shift
	echo "=== leg $leg FAILED: $*" >&2
	echo "$*" >"$top/$leg.failed"
	return 1
}

# Every liburcu header the build $1 read comes from under $2, and there
# is at least one: the leg tests the headers it says it does.
check_headers()
{
	local build="$1" want="$2" urcu bad

	urcu="$(ninja -C "$build" -t deps | awk '{ print $1 }' |
		grep -E '/urcu([-.][a-z-]*\.h|/)' | grep -v '/urcu-compat\.h$' | sort -u)"
	if [ -z "$urcu" ]; then
		echo "no liburcu header in $build's dependencies" >&2
		return 1
	fi
	bad="$(echo "$urcu" | grep -v "^$want/" || true)"
	if [ -n "$bad" ]; then
		echo "liburcu headers from outside $want:" >&2
		echo "$bad" | head -5 >&2
		return 1
	fi
	echo "liburcu headers: $(echo "$urcu" | wc -l), all under $want"
}

# The programs $4..., run through the wrapper $1, load every liburcu
# library from under $2, and libc from under $3 (not checked if empty).
check_loaded()
{
	local wrapper="$1" urcu="$2" libc="$3" exe bad

	shift 3
	for exe in "$@"; do
		bad="$("$wrapper" env LD_TRACE_LOADED_OBJECTS=1 "$exe" |
			awk -v urcu="$urcu/" -v libc="$libc/" '
			$1 ~ /^liburcu/ && !/liburcu-compat/ {
				n++
				if (index($3, urcu) != 1)
					print $1 " " $3
			}
			$1 ~ /^libc\.so/ && libc != "/" && index($3, libc) != 1 { print $1 " " $3 }
			END { if (!n) print "no liburcu library" }')"
		if [ -n "$bad" ]; then
			echo "$exe:" >&2
			echo "$bad" >&2
			return 1
		fi
	done
	echo "programs: $#, liburcu from $urcu${libc:+, libc from $libc}"
}

# The C test programs of build $1 (programs it built: no python, no
# valgrind), "name<TAB>program" a line; flavors in $2 left out.
c_tests()
{
	meson introspect --tests "$1" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
skip = sys.argv[2].split()
for test in json.load(sys.stdin):
    prog = os.path.realpath(test["cmd"][0])
    if not prog.startswith(build + os.sep):
        continue
    # Flavor: a suite of the test, or the "<flavor>-<mode>" in its name.
    words = [s.split(":")[-1] for s in test["suite"]]
    words += [w.split("-")[0] for w in test["name"].split() if "-" in w]
    if any(w in skip for w in words):
        continue
    print(test["name"] + "\t" + prog)
' "$1" "$2"
}

# Configures and builds build-releases/$1 against the pkg-config files
# of root $2; $3: extra link arguments.
build_leg()
{
	local leg="$1" root="$2" link="$3" build="$top/$1" pcdir="$top/pkgconfig-$1"
	local -a args=(--fatal-meson-warnings)

	rm -rf "$build" "$pcdir"
	# Only the root's liburcu and the system's cmocka are in sight.
	mkdir -p "$pcdir"
	ln -s "$(pkg-config --path cmocka)" "$pcdir/" ||
		leg_failed "$leg" "no cmocka.pc" || return 1
	[ -n "$link" ] && args+=("-Dc_link_args=$link")
	PKG_CONFIG_LIBDIR="$root/usr/lib/$multiarch/pkgconfig:$pcdir" \
		meson setup "${args[@]}" "$build" ||
		leg_failed "$leg" "meson setup failed" || return 1
	# liburcu 0.12's headers warn with newer compilers: kept in the log.
	if ! meson compile -C "$build" >"$build/compile.log" 2>&1; then
		tail -n 40 "$build/compile.log"
		leg_failed "$leg" "build failed (log: $build/compile.log)" || return 1
	fi
	echo "built, $(grep -c 'warning:' "$build/compile.log" || true) compiler warnings" \
		"(log: $build/compile.log)"
}

# Runs the C tests of build $2 through the wrapper $3 for leg $1, after
# checking that its headers come from under $4, its liburcu libraries
# from under $5 and its libc from under $6 (if set); flavors in $7 left
# out.
test_leg()
{
	local leg="$1" build="$2" wrapper="$3" hdr="$4" urcu="$5" libc="$6" skip="$7"
	local list status=0
	local -a names progs

	check_headers "$build" "$hdr" ||
		leg_failed "$leg" "liburcu headers from another release" || return 1
	list="$(c_tests "$build" "$skip")"
	mapfile -t names < <(echo "$list" | cut -f1)
	mapfile -t progs < <(echo "$list" | cut -f2 | sort -u)
	if [ -z "$list" ]; then
		leg_failed "$leg" "no C test in $build" || return 1
	fi
	check_loaded "$wrapper" "$urcu" "$libc" "${progs[@]}" ||
		leg_failed "$leg" "libraries from another release" || return 1

	rm -f "$build/meson-logs/testlog-$(basename "$wrapper")".*
	echo "running ${#names[@]} tests through $wrapper"
	meson test -C "$build" --wrapper "$wrapper" --timeout-multiplier 0.2 \
		"${names[@]}" || status=1
	return $status
}

# Wrappers (meson test --wrapper) that run a program on a suite's
# libraries: build-releases/run-bullseye, build-releases/run-trixie.
write_wrappers()
{
	local ns="unshare -m"

	[ "$(id -u)" -eq 0 ] || ns="unshare -Urm"
	cat >"$top/run-bullseye" <<EOF
#!/bin/sh
# Written by scripts/releases.sh: runs "\$@" on bullseye's liburcu.
LD_LIBRARY_PATH="$bullseye_root/usr/lib/$multiarch" exec "\$@"
EOF
	cat >"$top/run-trixie" <<EOF
#!/bin/sh
# Written by scripts/releases.sh: runs "\$@" on trixie's liburcu, loader
# and libc (bind-mounted over the system's loader in a private mount
# namespace, so that programs started by "\$@" use them too), with
# trixie's debug symbols in /usr/lib/debug for valgrind (mounted first:
# mount itself runs on the system's loader).
exec $ns sh -c '{ [ ! -d /usr/lib/debug ] || mount --bind "\$3" /usr/lib/debug; } &&
mount --bind "\$1" "\$2" || exit 125
shift 3
LD_LIBRARY_PATH="$trixie_root/usr/lib/$multiarch" exec "\$@"' run-trixie \\
	"$trixie_root/usr$loader" "$(readlink -f "$loader")" "$trixie_root/usr/lib/debug" "\$@"
EOF
	chmod +x "$top/run-bullseye" "$top/run-trixie"
}

have_roots()
{
	[ -e "$bullseye_root/usr/lib/$multiarch/pkgconfig/liburcu.pc" ] &&
		[ -e "$trixie_root/usr/lib/$multiarch/pkgconfig/liburcu.pc" ] &&
		[ -e "$trixie_root/usr$loader" ] &&
		[ -d "$trixie_root/usr/lib/debug/.build-id" ]
}

pc_version()
{
	sed -n 's/^Version: *//p' "$1/usr/lib/$multiarch/pkgconfig/liburcu.pc"
}

# One leg, timed.
leg()
{
	local leg="$1" start=$SECONDS status=0 label

	# Nothing of an earlier run may pass for this one's results.
	rm -f "$top/$leg.failed" "$top/$leg.label"
	rm -rf "${top:?}/$leg"
	if [ "$leg" = 0.13.2-on-0.15.x ]; then
		rm -f build-test/meson-logs/testlog-run-trixie.*
	fi
	if ! have_roots; then
		fetch || leg_failed "$leg" "could not fetch liburcu's packages (apt, mirror)" ||
			return 1
	fi
	write_wrappers
	case "$leg" in
	0.12.2)
		label="liburcu $(pc_version "$bullseye_root") (bullseye)"
		echo "$label" >"$top/$leg.label"
		echo
		echo "=== leg $leg: $label"
		build_leg "$leg" "$bullseye_root" "" &&
			test_leg "$leg" "$top/$leg" "$top/run-bullseye" \
				"$bullseye_root/usr/include" "$bullseye_root" "" "" ||
			status=1
		;;
	0.15.x)
		label="liburcu $(pc_version "$trixie_root") (trixie)"
		echo "$label" >"$top/$leg.label"
		echo
		echo "=== leg $leg: $label"
		# trixie's liburcu uses symbols of glibc >= 2.38, which this
		# system's libc, the one linked against, lacks: they are found
		# in trixie's at run time.
		build_leg "$leg" "$trixie_root" "-Wl,--allow-shlib-undefined" &&
			test_leg "$leg" "$top/$leg" "$top/run-trixie" \
				"$trixie_root/usr/include" "$trixie_root" "$trixie_root" "" ||
			status=1
		;;
	0.13.2-on-0.15.x)
		label="build-test ($(pkg-config --modversion liburcu)) on liburcu $(pc_version "$trixie_root") (trixie)"
		echo "$label" >"$top/$leg.label"
		echo
		echo "=== leg $leg: $label"
		if [ ! -e build-test/build.ninja ] || ! meson compile -C build-test >/dev/null; then
			leg_failed "$leg" "build-test is not built (scripts/test.sh builds it)"
			status=1
		else
			test_leg "$leg" "$PWD/build-test" "$top/run-trixie" \
				/usr/include "$trixie_root" "$trixie_root" signal || status=1
		fi
		;;
	*)
		echo "unknown leg: $leg" >&2
		return 2
		;;
	esac
	echo "=== leg $leg: $((SECONDS - start)) s"
	return $status
}

legs=("$@")
[ ${#legs[@]} -eq 0 ] && legs=(fetch 0.12.2 0.15.x 0.13.2-on-0.15.x)
mkdir -p "$top"
status=0
for l in "${legs[@]}"; do
	if [ "$l" = fetch ]; then
		fetch || status=1
	else
		leg "$l" || status=1
	fi
done
exit $status
