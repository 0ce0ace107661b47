#!/usr/bin/env bash
# Lints every shell script in the repo with shellcheck, installing it from Debian when it is missing
# (a fresh machine or CI), so that `npm test` needs nothing installed by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "shellcheck not found: installing it from Debian's packages"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    echo "shellcheck is required: install it (Debian/Ubuntu: apt-get install shellcheck)" >&2
    exit 1
  fi
fi

mapfile -t scripts < <(git ls-files --cached --others --exclude-standard '*.sh' .ci/run 'test/bootstrap-script/stand-ins/*')
shellcheck --version | sed -n 2p
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
