#!/usr/bin/env bash
# Build dockline and run its benchmarks against a private test engine, then print one table of
# every measured figure beside its target. Benchmarks measure; they never pass or fail.
#
# Usage: scripts/bench.sh [--quick]
#   --quick   fewer calls, lines and streams (a smoke run of the benchmarks themselves)
# Environment: BUILD_DIR (default build)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${BUILD_DIR:-build}"
engine_script="$repo_root/tests/engine/test-engine.sh"

calls=2000 lines=1000000 rss_mb=1024 streams=5000 exec_iterations=200
if [[ "${1:-}" == --quick ]]; then
  calls=200 lines=100000 rss_mb=64 streams=200 exec_iterations=20
fi

log() { printf 'bench: %s\n' "$*" >&2; }

bash scripts/install-deps.sh
gen=()
[[ -f "$build_dir/CMakeCache.txt" ]] || gen=(-G Ninja)
cmake -S . -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKLINE_BUILD_TESTS=ON \
  -DDOCKLINE_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build_dir" --target surface_bench logs_bench exec_bench docklined dockline

engine_dir=""
# shellcheck disable=SC2317 # invoked by trap
stop_engine() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [[ -n "$engine_dir" ]] && bash "$engine_script" stop "$engine_dir" >/dev/null 2>&1
  [[ -n "${old_inotify:-}" ]] && echo "$old_inotify" >/proc/sys/fs/inotify/max_user_instances
  exit "$rc"
}
trap stop_engine EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
state_file="$(mktemp /tmp/dockline-bench.XXXXXX)"
bash "$engine_script" start --state-file "$state_file" >/dev/null
engine_dir="$(cat "$state_file")"
rm -f "$state_file"
export DOCKER_HOST="unix://$engine_dir/d.sock"
export DOCKLINE_TEST_IMAGE="${DOCKLINE_TEST_IMAGE:-dockline-test/busybox:latest}"
export DOCKLINE_CLI="$build_dir/client/dockline"
# Each follow costs dockerd a socket and a log file, and docklined a socket.
ulimit -n "$(ulimit -Hn)" || true
# dockerd follows each json-file log with an inotify instance; past the per-user limit (128 by
# default) it polls every 200 ms instead, and a line's latency is then the daemon's, not ours.
# Raised for the run and put back after it.
inotify=/proc/sys/fs/inotify/max_user_instances
old_inotify="$(cat "$inotify" 2>/dev/null || true)"
if [[ -n "$old_inotify" ]] && ((old_inotify < streams + 256)); then
  if echo $((streams + 256)) >"$inotify" 2>/dev/null; then
    log "fs.inotify.max_user_instances $old_inotify -> $((streams + 256)) for this run"
  else
    log "WARNING: cannot raise fs.inotify.max_user_instances ($old_inotify): the daemon will" \
      "poll the logs of followers past it every 200 ms"
    old_inotify=""
  fi
else
  old_inotify=""
fi

out="$(mktemp /tmp/dockline-bench-out.XXXXXX)"
# The 5,000 follows go last, so that nothing they leave behind in the daemon (it takes a while
# to tear them down) weighs on the other figures.
log "logs_bench ($lines lines, a slow reader of $rss_mb MiB)"
"$build_dir/tests/logs_bench" --lines "$lines" --rss-mb "$rss_mb" \
  --docklined "$build_dir/server/docklined" | tee -a "$out" | grep -v '^ROW'
log "exec_bench ($exec_iterations iterations)"
"$build_dir/tests/exec_bench" "$exec_iterations" | tee -a "$out" | grep -v '^ROW'
log "surface_bench ($calls calls, $streams follows)"
"$build_dir/tests/surface_bench" --calls "$calls" --streams "$streams" \
  --docklined "$build_dir/server/docklined" | tee -a "$out" | grep -v '^ROW'
echo
echo "| measure | measured | target | |"
echo "|---|---|---|---|"
grep '^ROW' "$out" | while IFS=$'\t' read -r _ what measured target verdict; do
  echo "| $what | $measured | $target | $verdict |"
done
echo
echo "($(nproc) cores, $(docker -H "$DOCKER_HOST" version -f '{{.Server.Version}}' 2>/dev/null \
  || echo '?') dockerd, $(date -u +%Y-%m-%d))"
rm -f "$out"
