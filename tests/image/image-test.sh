#!/usr/bin/env bash
# The sidecar image (docker/Dockerfile) for real, against the private test engine: builds its
# `prebuilt` target from the binaries built on this host (no compile in the image), on a
# bookworm base made with debootstrap and imported (no registry), then runs it as people will:
#   A  defaults: root, no volume for /run/dockline, writable root fs
#   B  --read-only, a host directory bound to /run/dockline, driven by the host's CLI
#      (run, exec, logs over the socket in that directory)
#   C  --user dockline --group-add <the socket's group>, --read-only, a host directory
#   D  --user dockline --group-add <the socket's group>, no volume
#   E  --user dockline without the group: the HEALTHCHECK must say unhealthy
# and waits for the image's own HEALTHCHECK (dockline ping) to say healthy.
#
# Usage: tests/image/image-test.sh DOCKLINED DOCKLINE     (ctest passes the built binaries)
#        tests/image/image-test.sh --base-only            (only the cached base, below)
# Environment:
#   DOCKER_HOST, DOCKLINE_ENGINE_DIR   the test engine (scripts/test.sh); missing: FAILURE
#   DOCKLINE_TEST_IMAGE                image the sidecar runs containers of (busybox)
#   DOCKLINE_IMAGE_CACHE               where the debootstrapped base is kept
#                                      (default ${XDG_CACHE_HOME:-/var/cache}/dockline)
#   DOCKLINE_BASE_MAX_AGE_DAYS         a cached base older than this is made again (default 30)
#   DOCKLINE_DEBIAN_MIRROR             debootstrap's mirror (default http://deb.debian.org/debian)
#
# Everything it creates carries the label dockline-test=<run id> or a name/tag with that id,
# and only those are removed at the end.
set -euo pipefail

readonly SUITE=bookworm
readonly IMAGE_UID=10001
readonly HEALTH_WAIT=90 # seconds for a container's health to settle

t0=$SECONDS
log() { printf 'image-test [%ds]: %s\n' "$((SECONDS - t0))" "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# The base: debootstrap --variant=minbase, kept as a tarball named by suite, arch and day, and
# reused while it is younger than DOCKLINE_BASE_MAX_AGE_DAYS.

cache_dir="${DOCKLINE_IMAGE_CACHE:-${XDG_CACHE_HOME:-/var/cache}/dockline}"
max_age="${DOCKLINE_BASE_MAX_AGE_DAYS:-30}"
arch="$(dpkg --print-architecture)"
mkdir -p "$cache_dir"

cached_base() {
  find "$cache_dir" -maxdepth 1 -name "debootstrap-$SUITE-minbase-$arch-*.tar" -mtime "-$max_age" \
    -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-
}

make_base() {
  local tmp rootfs out
  command -v debootstrap >/dev/null ||
    fail "debootstrap is not installed (bash scripts/install-deps.sh installs it)"
  tmp="$(mktemp -d "$cache_dir/.debootstrap.XXXXXX")"
  rootfs="$tmp/rootfs"
  out="$cache_dir/debootstrap-$SUITE-minbase-$arch-$(date -u +%Y%m%d).tar"
  log "debootstrap --variant=minbase $SUITE (cached as $out)"
  # debootstrap mounts /proc and /sys in the target; an interrupted run must not leave them.
  if ! debootstrap --variant=minbase --arch="$arch" "$SUITE" "$rootfs" \
    "${DOCKLINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 20 "$tmp/debootstrap.log" >&2
    for m in proc sys; do umount -l "$rootfs/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$tmp"
    fail "debootstrap failed"
  fi
  # The downloaded packages and lists are a third of the tree and the image's apt-get fetches
  # its own lists anyway.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar --numeric-owner -C "$rootfs" -cf "$tmp/base.tar" .
  mv "$tmp/base.tar" "$out"
  rm -rf --one-file-system "$tmp"
  # Older tarballs of the same suite and arch are superseded.
  find "$cache_dir" -maxdepth 1 -name "debootstrap-$SUITE-minbase-$arch-*.tar" ! -path "$out" \
    -delete 2>/dev/null || true
}

# ensure_base: sets base_tar to the cached base, made first when there is none.
ensure_base() {
  base_tar="$(cached_base)"
  if [[ -z "$base_tar" ]]; then
    # One debootstrap at a time per cache (parallel runs, ctest -j): the second one waits and
    # then finds the first one's tarball.
    exec {lock_fd}>"$cache_dir/.debootstrap.lock"
    flock "$lock_fd"
    base_tar="$(cached_base)"
    if [[ -z "$base_tar" ]]; then
      make_base
      base_tar="$(cached_base)"
    fi
    flock -u "$lock_fd"
    [[ -n "$base_tar" ]] || fail "no base tarball in $cache_dir after debootstrap"
  else
    log "reusing the cached base $base_tar"
  fi
}

# --base-only: make the cached base if it is missing, and nothing else (scripts/test.sh runs this
# in the background while it compiles).
if [[ "${1:-}" == --base-only ]]; then
  ensure_base
  log "base: $base_tar"
  exit 0
fi

(($# == 2)) || fail "usage: $0 DOCKLINED DOCKLINE"
docklined_bin="$1"
dockline_bin="$2"
[[ -x "$docklined_bin" && -x "$dockline_bin" ]] || fail "no built binaries at $docklined_bin, $dockline_bin"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/readme/readme-block.sh
source "$repo_root/tests/readme/readme-block.sh"

# A missing engine fails the test: it exists to prove the image against a real dockerd.
engine_dir="${DOCKLINE_ENGINE_DIR:-}"
[[ -n "$engine_dir" && -e "$engine_dir/.dockline-test-engine" ]] ||
  fail "DOCKLINE_ENGINE_DIR does not name a test engine (run scripts/test.sh, or" \
    "tests/engine/test-engine.sh start and export what it prints)"
[[ "${DOCKER_HOST:-}" == "unix://$engine_dir/d.sock" ]] ||
  fail "DOCKER_HOST (${DOCKER_HOST:-unset}) is not the test engine's socket unix://$engine_dir/d.sock"
docker_socket="${DOCKER_HOST#unix://}"
test_image="${DOCKLINE_TEST_IMAGE:-dockline-test/busybox:latest}"

# Debian's client, of the engine's own version: another docker on PATH (a newer CLI) would ask
# for BuildKit, which this test does not use. The classic builder is what 20.10 documents.
docker_cli=/usr/bin/docker
[[ -x "$docker_cli" ]] || docker_cli="$(command -v docker)" || fail "no docker CLI"
export DOCKER_BUILDKIT=0
docker() { "$docker_cli" "$@"; }
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  fail "the test engine at $DOCKER_HOST does not answer"

run_id="$(printf '%x%04x' "$$" "$RANDOM")"
label="dockline-test=imgtest-$run_id"
prefix="dlimg-$run_id"
base_tag="dockline-imgtest-$run_id/base:$SUITE"
image_tag="dockline-imgtest-$run_id/docklined:prebuilt"
work="$(mktemp -d "/tmp/dlimg.XXXXXX")"
failed_containers=()

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
  local rc=$? ids
  trap - EXIT INT TERM HUP
  if ((rc != 0)); then
    for c in "${failed_containers[@]}"; do
      log "---- $c: logs and health ----"
      docker logs --tail 30 "$c" >&2 2>&1 || true
      docker inspect -f '{{json .State.Health}}' "$c" >&2 2>/dev/null || true
    done
  fi
  # The README's own runs carry no label: they are found by this run's name prefix.
  ids="$( (docker ps -aq --filter "label=$label" && docker ps -aq --filter "name=$prefix-") 2>/dev/null |
    sort -u || true)"
  # -v: the anonymous volumes of /run/dockline go with their containers.
  # shellcheck disable=SC2086 # one id a word
  [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null 2>&1 || log "WARNING: could not remove $ids"
  for tag in "$image_tag" "$base_tag"; do
    if docker image inspect "$tag" >/dev/null 2>&1; then
      docker rmi "$tag" >/dev/null 2>&1 || log "WARNING: could not remove image $tag"
    fi
  done
  rm -rf --one-file-system "$work"
  log "$( ((rc == 0)) && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

ensure_base
log "importing the base as $base_tag"
docker import --change "LABEL $label" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' "$base_tar" "$base_tag" >/dev/null || fail "docker import failed"

# ---------------------------------------------------------------------------------------------
# The image, from a context of the Dockerfile and the stripped binaries (a few MB) rather than
# the repository.

ctx="$work/context"
mkdir -p "$ctx/docker" "$ctx/prebuilt"
cp "$repo_root/docker/Dockerfile" "$ctx/docker/Dockerfile"
strip --strip-debug -o "$ctx/prebuilt/docklined" "$docklined_bin"
strip --strip-debug -o "$ctx/prebuilt/dockline" "$dockline_bin"
log "building $image_tag (--target prebuilt, context $(du -sh "$ctx" | cut -f1))"
# --network host: the engine has no bridge, and the runtime stage's apt-get needs the mirror.
if ! docker build --network host --force-rm --target prebuilt --build-arg "BASE=$base_tag" \
  --label "$label" -t "$image_tag" -f "$ctx/docker/Dockerfile" "$ctx" >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  fail "docker build failed"
fi
# The classic builder runs every stage up to the target: the compile must not be one of them.
if grep -qE 'AS build|cmake' "$work/build.log"; then
  grep -nE 'Step|cmake' "$work/build.log" >&2
  fail "--target prebuilt ran the compile stage"
fi

config="$(docker image inspect -f '{{json .Config.Volumes}} {{json .Config.Healthcheck.Test}} user={{.Config.User}}' "$image_tag")"
[[ "$config" == *'"/run/dockline"'* ]] || fail "no VOLUME /run/dockline in the image: $config"
[[ "$config" == *'"ping"'* ]] || fail "the image's HEALTHCHECK does not run dockline ping: $config"
[[ "$config" == *'user=' ]] || fail "the image should run as root by default: $config"
missing="$(docker run --rm --network none --label "$label" --entrypoint sh "$image_tag" -c \
  'ldd /usr/local/bin/docklined /usr/local/bin/dockline | grep "not found"' || true)"
[[ -z "$missing" ]] || fail "libraries missing from the runtime stage: $missing"

# ---------------------------------------------------------------------------------------------
# The sidecar as people run it.

socket_gid="$(stat -c %g "$docker_socket")"
common=(--label "$label" --network none -v "$docker_socket:/var/run/docker.sock"
  # The image's probe command and timeout, probed every second instead of every 15.
  --health-interval 1s)

# start NAME DOCKER-RUN-ARGS...: a detached sidecar.
start() {
  local name="$prefix-$1"
  shift
  docker run -d --name "$name" "${common[@]}" "$@" "$image_tag" >/dev/null ||
    fail "docker run $name failed"
}

# wait_health NAME WANT: until the image's HEALTHCHECK reports WANT (healthy or unhealthy).
wait_health() {
  local name="$prefix-$1" want="$2" status="" i
  for ((i = 0; i < HEALTH_WAIT * 4; i++)); do
    status="$(docker inspect -f '{{if .State.Running}}{{.State.Health.Status}}{{else}}exited{{end}}' \
      "$name" 2>/dev/null || echo gone)"
    [[ "$status" == "$want" ]] && break
    if [[ "$status" == exited || "$status" == gone ||
      ("$want" == healthy && "$status" == unhealthy) ]]; then
      break
    fi
    sleep 0.25
  done
  if [[ "$status" != "$want" ]]; then
    failed_containers+=("$name")
    fail "$name: health is '$status', wanted '$want'"
  fi
  log "$name: $want"
}

# host_cli DIR ARGS...: the host-built CLI over the socket in a bound host directory.
host_cli() {
  local dir="$1"
  shift
  timeout 60 "$dockline_bin" --addr "unix://$dir/dockline.sock" "$@"
}

expect_eq() { # expect_eq WHAT GOT WANT
  [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
}

dir_b="$work/b"
dir_c="$work/c"
mkdir -m 0750 "$dir_b" "$dir_c"
# docklined as uid 10001 creates its socket there; the host's root still reaches it.
chown "$IMAGE_UID:$IMAGE_UID" "$dir_c"

log "starting the sidecars"
start a
start b --read-only -v "$dir_b:/run/dockline"
start c --read-only --user dockline --group-add "$socket_gid" -v "$dir_c:/run/dockline"
start d --user dockline --group-add "$socket_gid"
# Failing probes count only after the start period; 1ms lets E turn unhealthy quickly.
start e --user dockline --health-start-period 1ms --health-retries 2

wait_health a healthy
# No volume given: the image's VOLUME gave /run/dockline an anonymous one.
mounts="$(docker inspect -f '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}' "$prefix-a")"
[[ "$mounts" == *"volume:/run/dockline"* ]] || fail "$prefix-a: no volume at /run/dockline ($mounts)"
# The CLI inside the image finds the socket through DOCKLINE_ADDR.
out="$(timeout 60 "$docker_cli" exec "$prefix-a" dockline run --rm --network none -l "$label" \
  "$test_image" echo from-inside)" || fail "dockline run inside $prefix-a failed"
expect_eq "run inside the sidecar" "$out" from-inside

wait_health b healthy
expect_eq "$prefix-b's root fs read-only" \
  "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$prefix-b")" true
out="$(host_cli "$dir_b" run --rm --network none -l "$label" "$test_image" sh -c 'echo hello; echo oops >&2' 2>/dev/null)" ||
  fail "host CLI run through $prefix-b failed"
expect_eq "run through $prefix-b" "$out" hello
worker="$prefix-worker"
host_cli "$dir_b" run -d --name "$worker" --network none -l "$label" "$test_image" \
  sh -c 'echo started; exec sleep 300' >/dev/null || fail "host CLI run -d through $prefix-b failed"
out="$(host_cli "$dir_b" exec "$worker" sh -c 'echo exec-ok; exit 3')" && rc=0 || rc=$?
expect_eq "exec through $prefix-b" "$out" exec-ok
expect_eq "exec's exit code through $prefix-b" "$rc" 3
out="$(host_cli "$dir_b" logs "$worker")" || fail "host CLI logs through $prefix-b failed"
expect_eq "logs through $prefix-b" "$out" started
host_cli "$dir_b" rm -f "$worker" >/dev/null || fail "host CLI rm through $prefix-b failed"
out="$(host_cli "$dir_b" ping)" || fail "host CLI ping through $prefix-b failed: $out"
expect_eq "ping through $prefix-b" "$out" SERVING

wait_health c healthy
expect_eq "$prefix-c's uid" "$(docker exec "$prefix-c" id -u)" "$IMAGE_UID"
expect_eq "owner of $prefix-c's socket" "$(stat -c %u "$dir_c/dockline.sock")" "$IMAGE_UID"
out="$(host_cli "$dir_c" run --rm --network none -l "$label" "$test_image" echo as-dockline)" ||
  fail "host CLI run through $prefix-c failed"
expect_eq "run through $prefix-c" "$out" as-dockline

wait_health d healthy
wait_health e unhealthy
out="$(docker exec "$prefix-e" dockline ping 2>&1)" && rc=0 || rc=$?
expect_eq "ping in $prefix-e (no access to the Docker socket)" "$out:$rc" NOT_SERVING:1

# Nothing written outside /run/dockline: the read-only ones ran, and a writable one's changes
# are only its socket directory and the mount point Docker made for the daemon's socket.
changes="$(docker diff "$prefix-a" |
  grep -v -E '^[AC] /run(/dockline.*|/docker\.sock)?$' || true)"
[[ -z "$changes" ]] || fail "$prefix-a wrote outside /run/dockline: $changes"

# ---------------------------------------------------------------------------------------------
# The README's sidecar blocks as written, a line at a time, but for: the image (the one built
# above from the same Dockerfile, --target prebuilt, instead of a compile in the image), the
# container's name (this run's), the Docker socket (the engine's) and the host's /run/dockline
# (a directory of this run). Between lines, as a person pasting them would, it waits for the
# socket a `docker run -d` line's docklined makes.

# readme_lines MARKER NAME SOCKET_WAIT [SED_EXPR...]: runs the block's lines after the
# substitutions; SOCKET_WAIT is a command that succeeds once the sidecar's socket exists.
readme_lines() {
  local marker="$1" name="$2" socket_wait="$3" line out i
  shift 3
  local subst=(-e "s#--name docklined #--name $name #" -e "s#docker exec docklined #docker exec $name #"
    -e "s#/var/run/docker.sock:#$docker_socket:#" -e "s# dockline/docklined\$# $image_tag#")
  for expr in "$@"; do subst+=(-e "$expr"); done
  local block
  block="$(readme_block "<!-- readme-test:$marker -->")"
  [[ -n "$block" ]] || fail "no <!-- readme-test:$marker --> block in README.md"
  while IFS= read -r line; do
    [[ -n "${line// /}" ]] || continue
    if [[ "$line" == "docker build -f docker/Dockerfile -t dockline/docklined ."* ]]; then
      log "README ($marker): the image is $image_tag (built above), not: $line"
      continue
    fi
    line="$(sed "${subst[@]}" <<<"$line")"
    log "README ($marker): $line"
    out="$(PATH="$(dirname "$dockline_bin"):$PATH" bash -euo pipefail -c "$line" 2>&1)" ||
      fail "README ($marker) line failed: $line: $out"
    if [[ "$line" == "docker run -d "* ]]; then
      failed_containers+=("$name")
      for ((i = 0; i < 120; i++)); do
        eval "$socket_wait" && break
        sleep 0.25
      done
    fi
    if [[ "$line" == *" ps"* ]]; then
      [[ "$out" == *"CONTAINER ID"* ]] || fail "README ($marker): no container table from: $line: $out"
    fi
  done <<<"$block"
}

export docker_cli
export -f docker
readme1="$prefix-readme1"
readme_lines sidecar "$readme1" \
  "docker exec $readme1 sh -c 'test -S /run/dockline/dockline.sock' 2>/dev/null"
readme2="$prefix-readme2"
readme_dir="$work/readme-run"
readme_lines sidecar-host "$readme2" "[[ -S $readme_dir/dockline.sock ]]" \
  "s#^install -d -m 0750 /run/dockline\$#install -d -m 0750 $readme_dir#" \
  "s#-v /run/dockline:#-v $readme_dir:#" "s#unix:///run/dockline/#unix://$readme_dir/#"
[[ "$(stat -c %a "$readme_dir")" == 750 ]] || fail "README's install -d did not make $readme_dir 0750"

log "all checks passed"
