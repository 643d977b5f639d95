#!/usr/bin/env bash
# The README's Quick start as a new user on a host with no Docker daemon meets it: its
# `bash scripts/serve.sh` line as written (DOCKER_HOST pointing at a socket nothing serves, so
# serve.sh must start its private engine; the listen address a free loopback port), then the
# Quick start's CLI lines against that docklined, each line's output checked against its comment,
# then SIGTERM to serve.sh, which must stop docklined and the engine it started.
#
# Usage: serve-test.sh BUILD_DIR     (an already built tree: serve.sh builds nothing new there)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$(cd "$1" && pwd)"
cli="$build_dir/client/dockline"

log() { printf 'serve-test: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

work="$(mktemp -d /tmp/dlserve.XXXXXX)"
serve_pid=""
engine_dir=""
# shellcheck disable=SC2317 # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT
  if [[ -n "$serve_pid" ]] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  # Only if serve.sh failed to: the engine it started, by the state it left.
  if [[ -n "$engine_dir" && -d "$engine_dir" ]]; then
    bash "$repo_root/tests/engine/test-engine.sh" stop "$engine_dir" >/dev/null 2>&1 || true
  fi
  ((rc == 0)) || { [[ -f "$work/serve.log" ]] && tail -n 40 "$work/serve.log" >&2; }
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# shellcheck source=tests/readme/readme-block.sh
source "$repo_root/tests/readme/readme-block.sh"

serve_line="$(readme_block '## Quick start' | grep '^bash scripts/serve.sh' || true)"
[[ -n "$serve_line" ]] || fail "no 'bash scripts/serve.sh' line in the README's Quick start"

port="$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
addr="127.0.0.1:$port"

log "README: $serve_line   (DOCKER_HOST=unix://$work/none.sock DOCKLINE_LISTEN=$addr)"
(cd "$repo_root" && DOCKER_HOST="unix://$work/none.sock" DOCKLINE_LISTEN="$addr" \
  BUILD_DIR="$build_dir" exec bash -c "$serve_line") >"$work/serve.log" 2>&1 &
serve_pid=$!

# install-deps, a no-op build and the engine's start: allow a minute and a half.
for ((i = 0; i < 360; i++)); do
  kill -0 "$serve_pid" 2>/dev/null || fail "serve.sh exited early"
  if [[ -z "$engine_dir" ]]; then
    engine_dir="$(sed -n 's#^serve: private engine: DOCKER_HOST=unix://\(.*\)/d\.sock .*#\1#p' \
      "$work/serve.log")"
  fi
  "$cli" --addr "$addr" ping --timeout 1s >/dev/null 2>&1 && break
  sleep 0.25
done
"$cli" --addr "$addr" ping --timeout 5s >/dev/null || fail "docklined did not serve on $addr"
[[ -n "$engine_dir" && -S "$engine_dir/d.sock" ]] ||
  fail "serve.sh did not say it started a private engine: $(cat "$work/serve.log")"
log "serving on $addr, private engine in $engine_dir"

# The Quick start's CLI lines, from the repository root as written but for the build directory;
# the CLI finds the server through DOCKLINE_ADDR. Each line's comment is what it prints.
n=0
while IFS= read -r line; do
  [[ -n "${line// /}" ]] || continue
  want="$(sed -n 's/.*#  *\(prints \)\{0,1\}\(.*\)$/\2/p' <<<"$line")"
  cmd="${line//build\//$build_dir/}"
  log "README: $line"
  # stdout: the daemon's own warnings (no IPv4 forwarding on the test engine) go to stderr.
  out="$(cd "$repo_root" && DOCKLINE_ADDR="$addr" bash -c "$cmd" 2>"$work/stderr")" || true
  [[ "$out" == "$want" ]] ||
    fail "'$line' printed '$out' (stderr: $(cat "$work/stderr")), the README says '$want'"
  n=$((n + 1))
done < <(readme_block '<!-- readme-test:quick-start-cli -->')
((n >= 2)) || fail "the Quick start has $n CLI lines"

log "SIGTERM to serve.sh (pid $serve_pid)"
kill -TERM "$serve_pid"
rc=0
for ((i = 0; i < 240; i++)); do
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.25
done
kill -0 "$serve_pid" 2>/dev/null && fail "serve.sh still runs 60 s after SIGTERM"
wait "$serve_pid" || rc=$?
serve_pid=""
((rc == 0)) || fail "serve.sh exited $rc after SIGTERM"
[[ ! -d "$engine_dir" ]] || fail "serve.sh left its engine's directory $engine_dir"
if "$cli" --addr "$addr" ping --timeout 1s >/dev/null 2>&1; then
  fail "something still answers on $addr"
fi
log "all checks passed"
