#!/usr/bin/env bash
# The one list of what b24wa needs on a machine, used by `make run`, `make test` and `.ci/run`.
#
#   scripts/deps.sh run    what building and running the service needs
#   scripts/deps.sh test   that, plus what the tests need (speech tools, Chromium, PostgreSQL, Redis)
#
# Whatever is missing is installed from Debian's packages with apt-get when this runs as root, with
# `sudo -n` otherwise. When it can do neither (or B24WA_DEPS_INSTALL=0), it stops with one message
# naming every missing package and the one command that installs them, before anything compiles.
# When everything is present it prints nothing and returns at once.
set -uo pipefail

level=${1:-}
case "$level" in
  run | test) ;;
  *)
    echo "usage: scripts/deps.sh run|test" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."

# ---- The list: "<debian package>|<check>|<why>"; a check is `cmd NAME` (a command on PATH),
# ---- `file PATH` or `pyvenv` (Python can make a virtualenv with pip).
RUN_REQS=(
  "gcc|cmd cc|C compiler (SQLite, ring, whisper.cpp, libopus)"
  "g++|cmd c++|C++ compiler (whisper.cpp)"
  "make|cmd make|make"
  "cmake|cmd cmake|builds whisper.cpp and libopus"
  "pkg-config|cmd pkg-config|finds C libraries"
  "python3-venv|pyvenv|fetches and converts the speech model (make model)"
)
TEST_REQS=(
  "espeak-ng|cmd espeak-ng|English test speech"
  "festival|cmd text2wave|Russian test speech"
  "festvox-ru|file /usr/share/festival/voices/russian/msu_ru_nsh_clunits/festvox/msu_ru_nsh_clunits.scm|Festival's Russian voice"
  "sox|cmd sox|test speech"
  "opus-tools|cmd opusenc|test voice notes (OGG/Opus)"
  "chromium|cmd chromium|the admin app's end-to-end tests"
  "postgresql-client|cmd pg_isready|PostgreSQL half of the suite"
  "redis-tools|cmd redis-cli|cluster-mode tests"
)

present() {
  local check=$1 arg=${2:-}
  case "$check" in
    cmd) command -v "$arg" >/dev/null 2>&1 ;;
    file) [ -e "$arg" ] ;;
    # Only needed until the model is made (the Makefile's venv is under target/); asking
    # Python costs a third of a second through pyenv's shims, so not when nothing is left to do.
    pyvenv)
      { [ -f models/ggml-base.bin ] && [ -f models/ggml-base-q8_0.bin ]; } ||
        [ -x target/model-venv/bin/python ] ||
        { command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }
      ;;
    *) return 1 ;;
  esac
}

reqs=("${RUN_REQS[@]}")
[ "$level" = test ] && reqs+=("${TEST_REQS[@]}")

missing=()
why=()
for req in "${reqs[@]}"; do
  IFS='|' read -r pkg check reason <<<"$req"
  # shellcheck disable=SC2086 # the check is "kind argument"
  if ! present $check; then
    missing+=("$pkg")
    why+=("  $pkg: $reason")
  fi
done

# Node.js with npm for the admin app: Debian's nodejs is older than Vite needs, so it is never
# installed from here; the version wanted is the one admin-web/package.json's "engines" names.
node_problem=""
want_node=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' admin-web/package.json)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  node_problem="the admin app needs Node.js ${want_node} or newer with npm; found: none"
else
  have_node=$(node --version 2>/dev/null | sed 's/^v//')
  if [ "$(printf '%s\n%s\n' "$want_node" "$have_node" | sort -V | head -n1)" != "$want_node" ]; then
    node_problem="the admin app needs Node.js ${want_node} or newer; found: ${have_node}"
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    SUDO="none"
  fi
  if [ "${B24WA_DEPS_INSTALL:-1}" = 0 ] || [ "$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    {
      echo "b24wa needs packages this machine lacks (for 'make $level'):"
      printf '%s\n' "${why[@]}"
      echo "Install them with:"
      echo "  sudo apt-get install -y ${missing[*]}"
      [ -n "$node_problem" ] && echo "Also: $node_problem (https://nodejs.org/en/download)."
    } >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "deps: apt-get could not install: ${missing[*]}" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi

if [ -n "$node_problem" ]; then
  echo "$node_problem (https://nodejs.org/en/download)." >&2
  exit 1
fi

[ "$level" = test ] || exit 0

# ---- Services the tests talk to: PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379,
# ---- started (installed first if need be) when nothing answers.
SUDO=""
[ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "deps: PostgreSQL does not answer on 127.0.0.1:5432; starting it" >&2
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2 || exit 1
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "deps: PostgreSQL still does not answer" >&2; exit 1; }
fi
if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != PONG ]; then
  echo "deps: Redis does not answer on 127.0.0.1:6379; starting it" >&2
  if ! command -v redis-server >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >&2 || exit 1
  fi
  redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >&2
  for _ in $(seq 1 30); do [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ] && break; sleep 1; done
  [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ] || { echo "deps: Redis still does not answer" >&2; exit 1; }
fi
exit 0
