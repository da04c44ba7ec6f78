#!/usr/bin/env bash
# Debian packages the test suite needs, installed only when missing:
#   - PostgreSQL server binaries (initdb, pg_ctl): integration tests start a real server
#   - binutils for the other CPU: strips the cross-built layer
#   - iproute2 and util-linux (ip, unshare, nsenter): the Serverless CLI runs in a
#     loopback-only network namespace in tests
set -euo pipefail

missing=()
pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    return 0
  fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
pg_bindir || missing+=(postgresql)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
# Strips the arm64 layer's shared objects when building on x86_64 (and the reverse).
case "$(uname -m)" in
  x86_64) command -v aarch64-linux-gnu-strip >/dev/null 2>&1 || missing+=(binutils-aarch64-linux-gnu) ;;
  aarch64) command -v x86_64-linux-gnu-strip >/dev/null 2>&1 || missing+=(binutils-x86-64-linux-gnu) ;;
esac

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts a cluster of its own; the tests start theirs.
  if command -v service >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
fi
