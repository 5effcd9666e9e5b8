#!/bin/sh
# Installs everything nsreload needs to build and test, from Debian 12 packages only.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential cmake pkg-config \
	libseccomp-dev libpcre2-dev libcmocka-dev libcgroup-dev libsystemd-dev \
	util-linux procps iproute2 python3 \
	golang-go delve git ca-certificates valgrind curl \
	clang-format cppcheck tmux vim-tiny >/dev/null
