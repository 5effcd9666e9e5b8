#!/bin/sh
# Installs everything nsreload needs to build and test, from Debian 12 packages only.
# Where every package is installed already it does nothing, and needs neither root nor sudo: a normal
# user builds and runs nsreload without either. Otherwise it installs what is missing, as root, or
# through sudo when there is one (else it says what root must install).
set -eu
# Build: the compiler and the libraries (libsystemd-dev: sd-bus, for a delegated scope from systemd).
# Tests: Go and delve, valgrind, bindfs (a FUSE view for the poll test), tmux, cppcheck, clang-format;
# systemd and dbus-user-session for the real user manager of the systemd-user tests (installed, never
# started as the machine's init).
PKGS="build-essential cmake pkg-config
	libseccomp-dev libpcre2-dev libcmocka-dev libcgroup-dev libsystemd-dev libhttp-parser-dev
	util-linux procps iproute2 python3
	golang-go delve git ca-certificates valgrind curl bindfs wrk
	clang-format cppcheck tmux vim-tiny
	systemd dbus-user-session
	chromium"
# The browser test (tests/integration/proxy_browser.sh) drives chromium with puppeteer-core from npm: node
# and npm from Debian, unless an npm is there already (NodeSource's nodejs carries its own npm and conflicts
# with Debian's npm package).
command -v npm >/dev/null || PKGS="$PKGS nodejs npm"

# The browser test's npm modules (puppeteer-core, pinned by tests/browser/package-lock.json), in
# tests/browser/node_modules when it is missing: 'npm ci' as the user who runs this script (the one behind
# sudo, when it was run with sudo), never as root for them, so the tree belongs to whoever runs the tests.
# It needs the network once; without the modules the browser test skips.

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: every package nsreload needs is installed"
	exit 0
fi
echo "install-deps: missing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null; then
	SUDO=sudo
	echo "install-deps: installing them with sudo (packages only: nsreload itself never needs it)"
else
	echo "install-deps: not root and no sudo: as root, run: apt-get install --no-install-recommends$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
