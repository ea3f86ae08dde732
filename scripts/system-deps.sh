#!/usr/bin/env bash
# System packages the test suite needs: Chromium for the browser tests, PostgreSQL 15 for the store
# tests. Installed with apt-get when missing and running as root (CI, fresh Debian machines);
# otherwise a hint is printed and the tests that need them fail with a message naming the package.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "note: missing system packages: ${missing[*]} (install them: sudo apt-get install ${missing[*]})" >&2
fi
