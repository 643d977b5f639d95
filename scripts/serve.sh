#!/usr/bin/env bash
# Build dockline and run docklined in the foreground.
#
# Engine: $DOCKER_HOST if set, else unix:///var/run/docker.sock. If that daemon does not answer
# /_ping, a private test engine (tests/engine/test-engine.sh) is started and stopped on exit.
#
# Usage: scripts/serve.sh [extra docklined args...]
# Environment: DOCKLINE_LISTEN (default 127.0.0.1:50051), DOCKER_HOST, BUILD_DIR (default build)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

build_dir="${BUILD_DIR:-build}"
listen="${DOCKLINE_LISTEN:-127.0.0.1:50051}"
engine_script="$repo_root/tests/engine/test-engine.sh"

log() { printf 'serve: %s\n' "$*" >&2; }

bash scripts/install-deps.sh

# An existing build tree keeps its configuration (the build re-runs CMake when it must): serving
# from scripts/test.sh's tree neither rebuilds nor reconfigures it.
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" --target docklined dockline

bin="$build_dir/server/docklined"
[[ -x "$bin" ]] || {
  log "ERROR: $bin was not built"
  exit 1
}

# ping_daemon DOCKER_HOST: true if the daemon answers GET /_ping with OK.
ping_daemon() {
  local host="$1" reply=""
  case "$host" in
    unix://*)
      [[ -S "${host#unix://}" ]] || return 1
      reply="$(curl -s --max-time 3 --unix-socket "${host#unix://}" http://localhost/_ping)" || true
      ;;
    tcp://*)
      reply="$(curl -s --max-time 3 "http://${host#tcp://}/_ping")" || true
      ;;
    *) return 1 ;;
  esac
  [[ "$reply" == OK ]]
}

docker_host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
engine_dir=""
if ping_daemon "$docker_host"; then
  log "using the Docker daemon at $docker_host"
else
  log "no daemon answers at $docker_host; starting the private test engine"
  state_file="$(mktemp /tmp/dockline-serve.XXXXXX)"
  if ! bash "$engine_script" start --state-file "$state_file" >/dev/null; then
    rm -f "$state_file"
    log "ERROR: the test engine did not start"
    exit 1
  fi
  engine_dir="$(cat "$state_file")"
  rm -f "$state_file"
  docker_host="unix://$engine_dir/d.sock"
  log "private engine: DOCKER_HOST=$docker_host (stopped when docklined exits)"
fi
export DOCKER_HOST="$docker_host"

cmd=("$bin" --listen "$listen" --docker-host "$DOCKER_HOST" "$@")
log "running: ${cmd[*]}"

if [[ -z "$engine_dir" ]]; then
  exec "${cmd[@]}"
fi

# We own an engine: run docklined as a child, forward signals, stop the engine afterwards.
child=""
# shellcheck disable=SC2317 # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  bash "$engine_script" stop "$engine_dir" || true
  exit "$rc"
}
trap cleanup EXIT
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP

"${cmd[@]}" &
child=$!
rc=0
while :; do
  wait "$child" && rc=0 || rc=$?
  # wait returns >128 when a trapped signal interrupted it; keep waiting for the child.
  kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
