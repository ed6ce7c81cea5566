# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by demo.sh and test.sh: install the Debian packages the build,
# the tests and the examples need, if any is missing. The package lists
# are refreshed (apt-get update) only when something has to be installed.

# rpm (rpmbuild), cmake, autoconf, automake and make: the packaging tests
# of the RPM spec and of the CMake and autotools consumers; pkg-config
# also brings pkg.m4 (PKG_CHECK_MODULES).
URCU_COMPAT_PACKAGES="liburcu-dev libcmocka-dev meson ninja-build valgrind pkg-config gcc python3 cppcheck clang-tidy rpm cmake autoconf automake make"

install_missing_packages()
{
	local missing="" pkg sudo=""

	for pkg in $URCU_COMPAT_PACKAGES; do
		if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
			grep -q '^install ok installed$'; then
			missing="$missing $pkg"
		fi
	done
	if [ -z "$missing" ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "missing packages:$missing (run as root or install sudo)" >&2
			return 1
		fi
		sudo="sudo"
	fi
	echo "installing missing packages:$missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # one word per package
	$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $missing
}
