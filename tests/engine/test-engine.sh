#!/usr/bin/env bash
# Private Docker Engine for dockline's tests.
#
# Starts Debian's dockerd (docker.io, 20.10) with its own data-root, exec-root, pidfile,
# managed containerd and Unix socket, all inside one fresh short temp dir (/tmp/dle.XXXXXX),
# with no bridge, no iptables and no masquerading. Imports a busybox image built from
# busybox-static as dockline-test/busybox:latest (no registry needed) and checks that a
# container really runs. Several engines can run side by side.
#
# Usage:
#   test-engine.sh start [--state-file FILE]
#       Progress goes to stderr. stdout gets two lines, the last one being
#         DOCKLINE_ENGINE_DIR=/tmp/dle.XXXXXX
#         DOCKER_HOST=unix:///tmp/dle.XXXXXX/d.sock
#       The same lines are written to $DIR/env; with --state-file the dir path goes to FILE.
#   test-engine.sh stop [DIR]          DIR defaults to $DOCKLINE_ENGINE_DIR
#   test-engine.sh status [DIR]        exit 0 and print the env lines if the engine answers
#   test-engine.sh crash DIR           SIGKILL that engine's dockerd, as a crash would
#   test-engine.sh revive DIR          start dockerd again in DIR (after crash), same socket
#   test-engine.sh cleanup-stale       remove /tmp/dle.* dirs whose daemon died or whose start was killed
#
# Environment:
#   DOCKLINE_ENGINE_STORAGE_DRIVERS  drivers to try in order (default "overlay2 vfs")
#   DOCKLINE_ENGINE_START_TIMEOUT    seconds to wait for /_ping (default 60)
#   DOCKLINE_TEST_IMAGE              tag to import (default dockline-test/busybox:latest)
set -euo pipefail

readonly DIR_PREFIX=/tmp/dle.
readonly MARKER=.dockline-test-engine
readonly IMAGE_TAG="${DOCKLINE_TEST_IMAGE:-dockline-test/busybox:latest}"
readonly START_TIMEOUT="${DOCKLINE_ENGINE_START_TIMEOUT:-60}"
readonly STOP_TIMEOUT=20

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"

log() { printf 'test-engine: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

usage() {
  sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# ---------------------------------------------------------------------------------------------
# Process helpers: only ever signal a pid whose command line names our private dir.

# pid_cmdline_has PID NEEDLE: PID is alive and its argv contains NEEDLE.
# No forks: it runs once per process when scanning /proc.
pid_cmdline_has() {
  local pid="$1" needle="$2" cmd
  local -a argv=()
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  mapfile -d '' argv <"/proc/$pid/cmdline" 2>/dev/null || return 1
  ((${#argv[@]} > 0)) || return 1 # zombie or kernel thread
  cmd="${argv[*]}"
  [[ "$cmd" == *"$needle"* ]]
}

read_pidfile() {
  local f="$1" pid=""
  if [[ -f "$f" ]]; then
    read -r pid <"$f" 2>/dev/null || true
  fi
  printf '%s' "$pid"
}

# stop_pid PID NEEDLE TIMEOUT NAME: SIGTERM, wait, SIGKILL, wait.
stop_pid() {
  local pid="$1" needle="$2" timeout="$3" name="$4" i
  pid_cmdline_has "$pid" "$needle" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    pid_cmdline_has "$pid" "$needle" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) did not exit after ${timeout}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pid_cmdline_has "$pid" "$needle" || return 0
    sleep 0.1
  done
  log "WARNING: $name (pid $pid) still alive after SIGKILL"
  return 1
}

# Pids of processes whose argv contains NEEDLE (e.g. containerd shims holding our socket path).
pids_with() {
  local needle="$1" p pid
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    pid_cmdline_has "$pid" "$needle" && printf '%s\n' "$pid"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Engine API over the socket.

api() { # api SOCK METHOD PATH [curl args...]
  local sock="$1" method="$2" path="$3"
  shift 3
  curl -sS --max-time 30 --unix-socket "$sock" -X "$method" "$@" "http://localhost$path"
}

ping_ok() {
  local sock="$1"
  [[ -S "$sock" ]] || return 1
  [[ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" == "OK" ]]
}

urlencode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [a-zA-Z0-9.~_-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------------
# stop / cleanup

is_engine_dir() {
  local dir="$1"
  [[ -d "$dir" && "$dir" == "$DIR_PREFIX"* && "$dir" != *..* ]]
}

mounts_under() {
  local dir="$1"
  findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' || true
}

unmount_all() {
  local dir="$1" m i
  for ((i = 0; i < 5; i++)); do
    mapfile -t mnts < <(mounts_under "$dir" | sort -r)
    ((${#mnts[@]} == 0)) && return 0
    for m in "${mnts[@]}"; do
      # findmnt -r escapes blanks as \x20; our paths have none, but be correct anyway.
      m="$(printf '%b' "$m")"
      umount -l "$m" 2>/dev/null || umount -f "$m" 2>/dev/null || true
    done
  done
  [[ -z "$(mounts_under "$dir")" ]]
}

# Kill containers that survived their daemon (only possible after a SIGKILL), using the
# runc state dirs inside our data-root/exec-root.
kill_orphan_containers() {
  local dir="$1" rroot id
  command -v runc >/dev/null 2>&1 || return 0
  while IFS= read -r rroot; do
    [[ -d "$rroot" ]] || continue
    for id in $(runc --root "$rroot" list -q 2>/dev/null); do
      log "killing orphan container ${id:0:12}"
      runc --root "$rroot" kill "$id" KILL >/dev/null 2>&1 || true
      runc --root "$rroot" delete --force "$id" >/dev/null 2>&1 || true
    done
  done < <(find "$dir/exec" "$dir/root" -maxdepth 3 -type d \( -name moby -path '*runc*' \) \
    2>/dev/null || true)
}

# Top-level "Id" values of a JSON array of objects (no jq on a bare machine).
json_ids() {
  grep -o '"Id":"[0-9a-f]\{12,64\}"' | cut -d'"' -f4
}

# Bridges of user-defined networks survive a SIGKILLed dockerd. A bridge is named
# br-<first 12 hex of the network id>; delete only those whose id our own network store holds.
remove_orphan_bridges() {
  local dir="$1" db="$1/root/network/files/local-kv.db" link
  [[ -f "$db" ]] && command -v ip >/dev/null 2>&1 || return 0
  while read -r link; do
    link="${link%%@*}"
    if grep -aq "${link#br-}[0-9a-f]\{52\}" "$db" 2>/dev/null; then
      log "removing orphan bridge $link"
      ip link delete "$link" 2>/dev/null || true
    fi
  done < <(ip -o link show type bridge 2>/dev/null | awk -F': ' '$2 ~ /^br-[0-9a-f]+$/ && length($2) == 15 {print $2}')
}

stop_engine() {
  local dir="$1" sock pid cpid shim ids id ok=0
  dir="${dir%/}"
  is_engine_dir "$dir" || die "not a test-engine dir: $dir"
  [[ -e "$dir/$MARKER" ]] || die "no $MARKER in $dir: refusing to touch it"
  sock="$dir/d.sock"

  # One stopper at a time (an explicit stop may race a concurrent start's stale cleanup).
  exec {lock_fd}>>"$dir/.stop.lock" || die "cannot open $dir/.stop.lock"
  if ! flock -w 60 "$lock_fd"; then
    die "another stop of $dir is still running"
  fi
  if [[ ! -e "$dir/$MARKER" ]]; then
    log "$dir was already stopped"
    return 0
  fi

  # Remove every container first (dockerd would otherwise wait their stop timeouts on
  # shutdown), then user-defined networks: a bridge network leaves a br-* link on the host.
  if ping_ok "$sock"; then
    ids="$(api "$sock" GET '/containers/json?all=1' 2>/dev/null | json_ids || true)"
    for id in $ids; do
      api "$sock" DELETE "/containers/$id?force=1&v=1" -o /dev/null 2>/dev/null || true
    done
    ids="$(api "$sock" GET '/networks' 2>/dev/null | json_ids || true)"
    for id in $ids; do
      # Built-in networks (none, host) refuse removal; that is fine.
      api "$sock" DELETE "/networks/$id" -o /dev/null 2>/dev/null || true
    done
  fi

  pid="$(read_pidfile "$dir/d.pid")"
  if [[ -n "$pid" ]]; then
    stop_pid "$pid" "$dir" "$STOP_TIMEOUT" dockerd || ok=1
  fi
  # The managed containerd normally exits with dockerd; stop it by its own pidfile if not.
  cpid="$(read_pidfile "$dir/exec/containerd/containerd.pid")"
  if [[ -n "$cpid" ]]; then
    stop_pid "$cpid" "$dir" 10 containerd || ok=1
  fi
  kill_orphan_containers "$dir"
  remove_orphan_bridges "$dir"
  # Shims started by our containerd carry our containerd socket path in argv.
  for shim in $(pids_with "$dir/exec/containerd/containerd.sock"); do
    stop_pid "$shim" "$dir/exec/containerd/containerd.sock" 5 containerd-shim || ok=1
  done

  if ! unmount_all "$dir"; then
    log "mounts left under $dir:"
    mounts_under "$dir" >&2
    die "could not unmount everything under $dir; not removing it"
  fi
  rm -rf --one-file-system "$dir" || ok=1
  ((ok == 0)) || die "engine in $dir not fully stopped"
  log "stopped and removed $dir"
}

# A dir is stale when the start that created it is gone, it is not brand new (a concurrent
# start may not have written its pids yet) and either its dockerd is dead or the start never
# finished (no env file: a start killed half-way; nobody knows about that daemon).
is_stale() {
  local dir="$1" pid owner age
  owner="$(read_pidfile "$dir/owner.pid")"
  [[ -n "$owner" ]] && pid_cmdline_has "$owner" test-engine && return 1
  age=$(($(date +%s) - $(stat -c %Y "$dir/$MARKER" 2>/dev/null || date +%s)))
  ((age > 120)) || return 1
  [[ -e "$dir/env" ]] || return 0
  pid="$(read_pidfile "$dir/d.pid")"
  ! { [[ -n "$pid" ]] && pid_cmdline_has "$pid" "$dir"; }
}

cleanup_stale() {
  local d
  for d in "$DIR_PREFIX"*; do
    [[ -d "$d" && -e "$d/$MARKER" ]] || continue
    is_stale "$d" || continue
    flock -n "$d/.stop.lock" true 2>/dev/null || continue # being stopped right now
    log "cleaning up stale engine dir $d"
    (stop_engine "$d") || log "WARNING: could not clean $d"
  done
}

# ---------------------------------------------------------------------------------------------
# start

ensure_packages() {
  local need=0 p
  for p in docker.io busybox-static curl; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || need=1
  done
  command -v findmnt >/dev/null 2>&1 || need=1
  if ((need)); then
    log "installing engine packages"
    bash "$repo_root/scripts/install-deps.sh" --engine-only
  fi
}

busybox_bin() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    if [[ -x "$b" ]] && file_is_static "$b"; then
      printf '%s' "$b"
      return 0
    fi
  done
  die "no static busybox found (install busybox-static)"
}

file_is_static() {
  # A static ELF has no PT_INTERP; ldd says "not a dynamic executable".
  ! ldd "$1" >/dev/null 2>&1
}

build_rootfs_tar() {
  local work="$1" tarfile="$2" bb rootfs app
  bb="$(busybox_bin)"
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user,var/tmp,run}
  cp "$bb" "$rootfs/bin/busybox"
  chmod 0755 "$rootfs/bin/busybox"
  # One fork per applet: this VM forks slowly and busybox has ~270 applets.
  while IFS= read -r app; do
    app="${app#/}"
    [[ -n "$app" && "$app" != bin/busybox ]] || continue
    [[ "$app" == */* && ! -d "$rootfs/${app%/*}" ]] && mkdir -p "$rootfs/${app%/*}"
    [[ -e "$rootfs/$app" || -L "$rootfs/$app" ]] || ln -s /bin/busybox "$rootfs/$app"
  done < <("$bb" --list-full)
  [[ -L "$rootfs/bin/sh" ]] || ln -s /bin/busybox "$rootfs/bin/sh"

  cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
  : >"$rootfs/etc/hosts"
  : >"$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  chmod 0700 "$rootfs/root"
  chown 1000:1000 "$rootfs/home/user"
  chmod 0755 "$rootfs/home/user"
  tar --numeric-owner -C "$rootfs" -cf "$tarfile" .
  rm -rf "$rootfs"
}

import_image() {
  local sock="$1" tarfile="$2" repo tag q resp code
  repo="${IMAGE_TAG%:*}"
  tag="${IMAGE_TAG##*:}"
  [[ "$repo" != "$IMAGE_TAG" ]] || tag=latest
  q="fromSrc=-&repo=$(urlencode "$repo")&tag=$(urlencode "$tag")"
  q+="&changes=$(urlencode 'CMD ["sh"]')"
  q+="&changes=$(urlencode 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')"
  resp="$(curl -sS --max-time 120 --unix-socket "$sock" -X POST \
    -H 'Content-Type: application/x-tar' --data-binary "@$tarfile" \
    -w '\n%{http_code}' "http://localhost/images/create?$q")" || die "image import request failed"
  code="${resp##*$'\n'}"
  if [[ "$code" != 200 || "$resp" == *'"error'* ]]; then
    die "image import failed (HTTP $code): ${resp%$'\n'*}"
  fi
  code="$(api "$sock" GET "/images/$repo:$tag/json" -o /dev/null -w '%{http_code}')"
  [[ "$code" == 200 ]] || die "imported image $IMAGE_TAG not found (HTTP $code)"
}

selfcheck_container() {
  local sock="$1" body resp id code out exit_code
  body="{\"Image\":\"$IMAGE_TAG\",\"Cmd\":[\"echo\",\"ok\"],"
  body+='"Labels":{"dockline.test-engine":"selfcheck"},"HostConfig":{"NetworkMode":"none"}}'
  resp="$(api "$sock" POST /containers/create -H 'Content-Type: application/json' -d "$body")" ||
    die "container create request failed"
  id="$(printf '%s' "$resp" | json_ids || true)"
  [[ -n "$id" ]] || die "container create failed: $resp"
  code="$(api "$sock" POST "/containers/$id/start" -o "$ENGINE_DIR/start.out" -w '%{http_code}')" || true
  if [[ "$code" != 204 ]]; then
    log "container start failed (HTTP $code): $(cat "$ENGINE_DIR/start.out" 2>/dev/null)"
    api "$sock" DELETE "/containers/$id?force=1" -o /dev/null || true
    return 1
  fi
  resp="$(api "$sock" POST "/containers/$id/wait")" || true
  exit_code="$(printf '%s' "$resp" | grep -o '"StatusCode":[0-9]*' | cut -d: -f2 || true)"
  # Multiplexed stream: 8-byte header, then the payload.
  out="$(api "$sock" GET "/containers/$id/logs?stdout=1&stderr=1" | tail -c +9 | tr -d '\r')" || true
  api "$sock" DELETE "/containers/$id?force=1" -o /dev/null || true
  rm -f "$ENGINE_DIR/start.out"
  if [[ "$exit_code" != 0 || "$out" != ok ]]; then
    log "self-check container: exit=$exit_code output='$out' wait=$resp"
    return 1
  fi
}

# launch_dockerd DIR DRIVER: starts dockerd detached (own session) and waits for /_ping.
launch_dockerd() {
  local dir="$1" driver="$2" sock="$1/d.sock" i pid="" bgpid
  local -a flags=(
    --config-file "$dir/daemon.json"
    --data-root "$dir/root"
    --exec-root "$dir/exec"
    --pidfile "$dir/d.pid"
    --host "unix://$sock"
    --bridge=none
    --iptables=false
    --ip6tables=false
    --ip-masq=false
    --ip-forward=false
    --userland-proxy=false
    --storage-driver "$driver"
  )
  log "starting dockerd (storage driver $driver) in $dir"
  printf '%s\n' "=== dockerd ${flags[*]}" >>"$dir/dockerd.log"
  # Own session: a Ctrl-C at the caller's terminal must not reach the daemon; the caller stops
  # it explicitly. Not a process-group leader here, so setsid execs without forking.
  setsid dockerd "${flags[@]}" </dev/null >>"$dir/dockerd.log" 2>&1 &
  bgpid=$!
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    if ping_ok "$sock"; then
      return 0
    fi
    pid="$(read_pidfile "$dir/d.pid")"
    if ((i >= 4)) && ! pid_cmdline_has "$bgpid" "$dir" &&
      ! { [[ -n "$pid" ]] && pid_cmdline_has "$pid" "$dir"; }; then
      log "dockerd exited during startup"
      return 1
    fi
    sleep 0.25
  done
  log "dockerd did not answer /_ping within ${START_TIMEOUT}s"
  return 1
}

# Tear down a failed attempt inside DIR, keeping the dir and its log.
abort_attempt() {
  local dir="$1" pid cpid
  pid="$(read_pidfile "$dir/d.pid")"
  [[ -n "$pid" ]] && { stop_pid "$pid" "$dir" 10 dockerd || true; }
  for pid in $(pids_with "--pidfile $dir/d.pid"); do stop_pid "$pid" "$dir" 10 dockerd || true; done
  cpid="$(read_pidfile "$dir/exec/containerd/containerd.pid")"
  [[ -n "$cpid" ]] && { stop_pid "$cpid" "$dir" 10 containerd || true; }
  unmount_all "$dir" || true
  rm -rf --one-file-system "$dir/root" "$dir/exec" "$dir/d.pid" "$dir/d.sock" 2>/dev/null || true
}

ENGINE_DIR=""
on_start_failure() {
  local rc=$?
  if ((rc != 0)) && [[ -n "$ENGINE_DIR" && -d "$ENGINE_DIR" ]]; then
    if [[ -f "$ENGINE_DIR/dockerd.log" ]]; then
      log "---- last lines of $ENGINE_DIR/dockerd.log (grpc chatter left out) ----"
      grep -vE 'module=grpc|loading plugin' "$ENGINE_DIR/dockerd.log" | tail -n 25 >&2 || true
      cp "$ENGINE_DIR/dockerd.log" "/tmp/dockline-engine-failed.log" 2>/dev/null &&
        log "full log copied to /tmp/dockline-engine-failed.log"
    fi
    (stop_engine "$ENGINE_DIR") || true
  fi
  exit "$rc"
}

start_engine() {
  local state_file="" drivers driver started="" t0
  while (($#)); do
    case "$1" in
      --state-file)
        state_file="${2:?--state-file needs a path}"
        shift 2
        ;;
      --state-file=*)
        state_file="${1#*=}"
        shift
        ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  ((EUID == 0)) || die "must run as root (dockerd needs root)"
  t0="$EPOCHREALTIME"
  ensure_packages
  command -v dockerd >/dev/null || die "dockerd not found"
  command -v setsid >/dev/null || die "setsid not found (util-linux)"
  cleanup_stale

  ENGINE_DIR="$(mktemp -d "${DIR_PREFIX}XXXXXX")"
  echo $$ >"$ENGINE_DIR/owner.pid"
  : >"$ENGINE_DIR/$MARKER"
  chmod 0755 "$ENGINE_DIR"
  trap on_start_failure EXIT
  trap 'exit 130' INT TERM HUP
  # An empty config: never pick up the host's /etc/docker/daemon.json.
  echo '{}' >"$ENGINE_DIR/daemon.json"

  drivers="${DOCKLINE_ENGINE_STORAGE_DRIVERS:-overlay2 vfs}"
  for driver in $drivers; do
    if launch_dockerd "$ENGINE_DIR" "$driver"; then
      started="$driver"
      break
    fi
    log "storage driver $driver failed:"
    grep -E 'level=(error|fatal)|failed to start' "$ENGINE_DIR/dockerd.log" | tail -n 5 >&2 || true
    abort_attempt "$ENGINE_DIR"
  done
  [[ -n "$started" ]] || die "dockerd did not start with any of: $drivers"

  local sock="$ENGINE_DIR/d.sock"
  log "dockerd up ($started); importing $IMAGE_TAG"
  build_rootfs_tar "$ENGINE_DIR" "$ENGINE_DIR/busybox.tar"
  import_image "$sock" "$ENGINE_DIR/busybox.tar"
  rm -f "$ENGINE_DIR/busybox.tar"
  selfcheck_container "$sock" || die "self-check container did not run"

  printf 'DOCKLINE_ENGINE_DIR=%s\nDOCKER_HOST=unix://%s\n' "$ENGINE_DIR" "$sock" >"$ENGINE_DIR/env"
  printf '%s\n' "$started" >"$ENGINE_DIR/storage-driver"
  if [[ -n "$state_file" ]]; then
    printf '%s\n' "$ENGINE_DIR" >"$state_file"
  fi
  rm -f "$ENGINE_DIR/owner.pid"
  trap - EXIT INT TERM HUP
  log "ready in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s:" \
    "DOCKER_HOST=unix://$sock (storage driver $started)"
  cat "$ENGINE_DIR/env"
}

status_engine() {
  local dir="${1:-${DOCKLINE_ENGINE_DIR:-}}"
  [[ -n "$dir" ]] || die "status: no DIR and DOCKLINE_ENGINE_DIR unset"
  if ping_ok "$dir/d.sock"; then
    cat "$dir/env" 2>/dev/null || printf 'DOCKER_HOST=unix://%s/d.sock\n' "$dir"
    return 0
  fi
  log "engine in $dir does not answer"
  return 1
}

# crash DIR: SIGKILL the engine's dockerd, verified by its command line, and wait until it is
# gone. Its managed containerd dies with it; revive starts both again.
crash_engine() {
  local dir="$1" pid i
  is_engine_dir "$dir" || die "crash: $dir is not an engine dir"
  pid="$(read_pidfile "$dir/d.pid")"
  pid_cmdline_has "$pid" "$dir" || die "crash: no dockerd of $dir is running"
  log "SIGKILL dockerd (pid $pid)"
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do
    pid_cmdline_has "$pid" "$dir" || break
    sleep 0.1
  done
  pid_cmdline_has "$pid" "$dir" && die "crash: dockerd (pid $pid) still alive after SIGKILL"
  # Its containerd gets a signal as its parent dies and takes a moment to go; a dockerd started
  # while it is still there waits for it and times out. Containers' shims stay, as in a crash.
  pid="$(read_pidfile "$dir/exec/containerd/containerd.pid")"
  stop_pid "$pid" "$dir" 10 "containerd" || die "crash: containerd (pid $pid) did not exit"
}

# revive DIR: starts dockerd again in DIR with the storage driver it had.
revive_engine() {
  local dir="$1" driver pid
  is_engine_dir "$dir" || die "revive: $dir is not an engine dir"
  ping_ok "$dir/d.sock" && die "revive: the engine in $dir is running"
  pid="$(read_pidfile "$dir/d.pid")"
  pid_cmdline_has "$pid" "$dir" && die "revive: dockerd (pid $pid) of $dir is still alive"
  # A killed dockerd leaves its pidfile (and its containerd one), and a new one refuses to start
  # beside it.
  rm -f "$dir/d.pid" "$dir/exec/containerd/containerd.pid"
  driver="$(cat "$dir/storage-driver")"
  launch_dockerd "$dir" "$driver" || die "revive: dockerd did not start again (see $dir/dockerd.log)"
  log "revived: DOCKER_HOST=unix://$dir/d.sock"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    start) start_engine "$@" ;;
    stop)
      local dir="${1:-${DOCKLINE_ENGINE_DIR:-}}"
      [[ -n "$dir" ]] || die "stop: no DIR and DOCKLINE_ENGINE_DIR unset"
      ((EUID == 0)) || die "must run as root"
      stop_engine "$dir"
      ;;
    status) status_engine "$@" ;;
    crash | revive)
      [[ -n "${1:-}" ]] || die "$cmd: DIR is required"
      ((EUID == 0)) || die "must run as root"
      "${cmd}_engine" "$1"
      ;;
    cleanup-stale)
      ((EUID == 0)) || die "must run as root"
      cleanup_stale
      ;;
    -h | --help | help)
      usage
      ;;
    *)
      usage
      exit 2
      ;;
  esac
}

main "$@"
