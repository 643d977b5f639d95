#!/usr/bin/env bash
# Build dockline and run its tests (ctest) against a private test engine, then build it again
# with clang under ASan+UBSan (with the libFuzzer targets) and run the suites and a short run of
# each fuzzer there, against the same engine. Every test runs at least once: the unit tests only
# in the sanitizer build (in the first one too with SANITIZE=0).
#
# Usage: scripts/test.sh [extra ctest args...]     e.g. scripts/test.sh -R Logs
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan),
#              SANITIZE=0 to skip the sanitizer build and run (local runs only; CI runs both),
#              FUZZ_SECONDS (per fuzzer, default 30), CTEST_TIMEOUT (seconds per test,
#              default 300), CTEST_PARALLEL (default 2; more is no faster on two cores:
#              the daemon starting containers is what the tests wait for)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

build_dir="${BUILD_DIR:-build}"
asan_dir="${ASAN_BUILD_DIR:-build-asan}"
sanitize="${SANITIZE:-1}"
engine_script="$repo_root/tests/engine/test-engine.sh"
t0=$SECONDS

log() { printf "test [%ds]: %s\n" "$((SECONDS - t0))" "$*" >&2; }

log "installing dependencies (if missing)"
bash scripts/install-deps.sh

# The sidecar image test's debootstrapped base (cached; minutes of downloads the first time) is
# made while the compiler has the cores. A full run only: `-R Foo` does not need it.
base_pid=""
if (($# == 0)); then
  mkdir -p "$build_dir/Testing"
  bash tests/image/image-test.sh --base-only >"$build_dir/Testing/image-base.log" 2>&1 &
  base_pid=$!
  # Should the build fail, the base still finishes (a debootstrap cut short leaves mounts).
  trap '[[ -z "$base_pid" ]] || wait "$base_pid" || true' EXIT
fi

log "building in $build_dir"
gen=()
[[ -f "$build_dir/CMakeCache.txt" ]] || gen=(-G Ninja)
# Line tables (-g1) rather than full debug information, and none in the test programs: the
# watchdog's gdb stacks need no more. The unit tests (a third of this build) are built and run
# once, in the sanitizer build, when there is one; the integration tests run in both.
unit_tests=ON
[[ "$sanitize" == 0 ]] || unit_tests=OFF
cmake -S . -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKLINE_BUILD_TESTS=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DDOCKLINE_TEST_COMPILE_OPTIONS=-g0 \
  "-DDOCKLINE_UNIT_TESTS=$unit_tests" >/dev/null
cmake --build "$build_dir"

if [[ "$sanitize" != 0 ]]; then
  log "building in $asan_dir (clang, ASan+UBSan, fuzzers)"
  gen=()
  [[ -f "$asan_dir/CMakeCache.txt" ]] || gen=(-G Ninja)
  # -O0 and line tables only: the sanitizer build is for finding faults, and at -O1 with full
  # debug information it takes twice as long to build.
  CXX=clang++-14 cmake -S . -B "$asan_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only" -DDOCKLINE_BUILD_TESTS=ON \
    -DDOCKLINE_BUILD_BENCHMARKS=OFF -DDOCKLINE_SANITIZE=ON -DDOCKLINE_FUZZ=ON \
    "-DDOCKLINE_FUZZ_SECONDS=${FUZZ_SECONDS:-30}" >/dev/null
  cmake --build "$asan_dir"
fi

if [[ -n "$base_pid" ]]; then
  # A failed base is reported by the image test, which tries again.
  wait "$base_pid" || log "WARNING: making the image test's base failed: $(tail -n 5 \
    "$build_dir/Testing/image-base.log")"
  base_pid=""
fi

engine_dir=""
# shellcheck disable=SC2317 # invoked by trap
stop_engine() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n "$engine_dir" && -d "$engine_dir" ]]; then
    # Keep the daemon's log next to the test logs for post-mortems.
    mkdir -p "$build_dir/Testing"
    cp "$engine_dir/dockerd.log" "$build_dir/Testing/dockerd.log" 2>/dev/null || true
    bash "$engine_script" stop "$engine_dir" || log "WARNING: stopping the test engine failed"
  fi
  exit "$rc"
}
trap stop_engine EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

log "starting the private test engine"
state_file="$(mktemp /tmp/dockline-test.XXXXXX)"
if ! bash "$engine_script" start --state-file "$state_file" >/dev/null; then
  rm -f "$state_file"
  log "FAILED: the test engine did not start (see the log above)"
  exit 1
fi
engine_dir="$(cat "$state_file")"
rm -f "$state_file"

export DOCKER_HOST="unix://$engine_dir/d.sock"
export DOCKLINE_ENGINE_DIR="$engine_dir"
export DOCKLINE_TEST_IMAGE="${DOCKLINE_TEST_IMAGE:-dockline-test/busybox:latest}"
log "engine: DOCKER_HOST=$DOCKER_HOST ($(cat "$engine_dir/storage-driver") storage)," \
  "image $DOCKLINE_TEST_IMAGE"

# ctest runs in its own session so that a signal to this script (Ctrl-C, a CI timeout) can stop
# ctest and every test process at once before the engine is stopped.
run_ctest() {
  local dir=$1
  shift
  setsid ctest --test-dir "$dir" --output-on-failure --no-tests=error \
    -j "${CTEST_PARALLEL:-2}" --timeout "${CTEST_TIMEOUT:-300}" "$@" &
  ctest_pid=$!
  interrupted=0
  local rc=0
  while :; do
    wait "$ctest_pid" && rc=0 || rc=$?
    kill -0 "$ctest_pid" 2>/dev/null || break
  done
  if ((interrupted)); then
    log "interrupted; stopping"
    exit "$interrupted"
  fi
  return "$rc"
}
ctest_pid=""
interrupted=0
# shellcheck disable=SC2317 # invoked by trap
on_signal() {
  interrupted=$1
  [[ -n "$ctest_pid" ]] && kill -TERM -- "-$ctest_pid" 2>/dev/null || true
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM HUP

rc=0
log "running the tests in $build_dir"
run_ctest "$build_dir" "$@" || rc=$?
if [[ "$sanitize" != 0 ]]; then
  log "running the tests and fuzzers under ASan+UBSan in $asan_dir"
  # Any report fails the test that caused it: UBSan aborts, ASan and LSan exit non-zero.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$repo_root/tests/sanitizer/lsan.supp:print_suppressions=0}"
  asan_rc=0
  run_ctest "$asan_dir" "$@" || asan_rc=$?
  ((rc != 0)) || rc=$asan_rc
fi

echo >&2
if ((rc == 0)); then
  log "SUMMARY: all tests passed ($((SECONDS - t0)) s)"
else
  log "SUMMARY: FAILED (ctest exit $rc, $((SECONDS - t0)) s);" \
    "logs: $build_dir/Testing/Temporary/LastTest.log (and $asan_dir's)," \
    "daemon log: $build_dir/Testing/dockerd.log"
fi
exit "$rc"
