#!/usr/bin/env bash
# The Node example's test (test.mjs) against a docklined of its own.
#
#   run-test.sh DOCKLINED WORKDIR
#
# DOCKLINED: the docklined binary to start. WORKDIR: a directory in the build tree where the
# npm packages are installed (npm ci from package-lock.json, no install scripts) next to a copy
# of the example's files; the source tree is never written to. Talks to the daemon at
# $DOCKER_HOST (required: no daemon is a failure) and uses $DOCKLINE_TEST_IMAGE (default
# dockline-test/busybox:latest), never pulled.
#
# Exit status: test.mjs's, 77 (skipped) when node or npm is not on PATH, 1 on a setup failure.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$src/../.." && pwd)"

log() { printf 'run-test.sh: %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

(($# == 2)) || die "usage: run-test.sh DOCKLINED WORKDIR"
docklined="$1"
work="$2"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: the Node example test needs node (18 or later) and npm on PATH; $tool is missing"
    exit 77
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 18)); then
  echo "SKIPPED: the Node example test needs node 18 or later (node:test); found $(node --version)"
  exit 77
fi

[[ -n "${DOCKER_HOST:-}" ]] || die "DOCKER_HOST is not set: start the test engine first" \
  "(tests/engine/test-engine.sh start) and export what it prints"
[[ -x "$docklined" ]] || die "no docklined at $docklined"

# The example's files, laid out as in the source tree so ../../proto resolves (a link to the
# real contract), with node_modules beside them.
app="$work/examples/node"
mkdir -p "$app"
ln -sfn "$repo_root/proto" "$work/proto"
cp "$src"/package.json "$src"/package-lock.json "$src"/*.mjs "$app"/
if [[ -f "$app/node_modules/.package-lock.json" && -f "$work/installed.lock" ]] &&
  cmp -s "$src/package-lock.json" "$work/installed.lock"; then
  log "npm packages already installed in $app/node_modules"
else
  log "npm ci in $app"
  rm -f "$work/installed.lock"
  (cd "$app" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed (the npm registry must be reachable)"
  cp "$src/package-lock.json" "$work/installed.lock"
fi

# A short private dir: a unix socket path must stay under 108 bytes.
tmp="$(mktemp -d /tmp/dockline-node.XXXXXX)"
pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -s "$tmp/docklined.log" ]]; then
    log "docklined's log (last 40 lines):"
    tail -n 40 "$tmp/docklined.log" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

addr="unix://$tmp/d.sock"
"$docklined" --listen "$addr" --docker-host "$DOCKER_HOST" --log-level warn \
  >"$tmp/docklined.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ -S "$tmp/d.sock" ]] && break
  kill -0 "$pid" 2>/dev/null || die "docklined exited at start"
  sleep 0.1
done
[[ -S "$tmp/d.sock" ]] || die "docklined did not listen on $addr within 10 s"
log "docklined (pid $pid) on $addr, DOCKER_HOST=$DOCKER_HOST"

cd "$app"
node test.mjs "$addr"

# The example's README lines as written (the `npm ci` one was done above, into the build tree),
# the address swapped for this docklined's and the containers labelled as the suite's.
readme_run="$(awk '/^```sh/ { f = 1; next } f && /^```/ { exit } f' "$src/README.md" |
  grep '^node example.mjs ' || true)"
[[ -n "$readme_run" ]] || die "no 'node example.mjs' line in examples/node/README.md"
readme_run="${readme_run//unix:\/\/\/tmp\/d.sock/$addr}"
log "README: $readme_run"
DOCKLINE_LABEL="dockline-test=node-readme-$$" bash -euo pipefail -c "$readme_run" >"$tmp/readme.out" ||
  die "the README's line failed: $readme_run: $(tail -n 20 "$tmp/readme.out")"
