#!/usr/bin/env bash
# `make test` needs Debian's chromium and chromedriver for tests/browser. Install them when this
# machine can (Debian's apt-get, as root or with sudo that needs no password), saying so;
# otherwise stop at once with one line that names the packages.
set -uo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi

packages="chromium chromium-driver"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
fi

if ! command -v apt-get >/dev/null || [ "$sudo" = "none" ]; then
    echo "make test: the browser tests need chromium and chromedriver; install the Debian packages '$packages' (apt-get install $packages) or run 'make check' (no browser)" >&2
    exit 1
fi

echo "make test: chromium/chromedriver missing: installing $packages with apt-get (tests/browser needs them)"
if ! { $sudo apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages; }; then
    echo "make test: could not install $packages with apt-get; install them and run make test again" >&2
    exit 1
fi
