#!/usr/bin/env bash
# ./heed.sh bench | test | example | deps — the Makefile's targets, on any machine with the Swift
# toolchain. The toolchain's own install list (swift.org, the swift:debian12 image) has gcc and
# pkg-config but not make, so this installs make when it is missing, then hands over to it.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v make >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "heed.sh: make is missing and there is no apt-get here: install make, then run 'make $*'" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "heed.sh: installing make"
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q make
fi

exec make "$@"
