#!/usr/bin/env bash
# Install the Debian (bookworm) packages dockline needs to build, test and serve.
# Idempotent: only packages that are not installed yet are passed to apt-get, and
# `apt-get update` runs only when something is missing.
#
# Usage: scripts/install-deps.sh [--engine-only]
#   --engine-only   only what the private test engine needs (docker.io, busybox-static, curl...)
set -euo pipefail

engine_pkgs=(docker.io busybox-static curl ca-certificates iproute2 util-linux procps)

all_pkgs=(
  cmake ninja-build g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libboost-dev libboost-system-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev openssl libyaml-cpp-dev
  libutfcpp-dev prometheus-cpp-dev libarchive-dev pkg-config
  python3 python3-grpcio python3-grpc-tools python3-docker python3-protobuf
  clang-format git openssl
  clang-14 libclang-rt-14-dev
  gdb
  debootstrap # tests/image: the sidecar image's bookworm base, with no registry
  docker-registry # tests: the loopback registry that image pulls are tested against
  jq # tests: the README's grpcurl pipelines run as written
  "${engine_pkgs[@]}"
)

pkgs=("${all_pkgs[@]}")
case "${1:-}" in
  --engine-only) pkgs=("${engine_pkgs[@]}") ;;
  "") ;;
  -h | --help)
    sed -n '2,8p' "$0"
    exit 0
    ;;
  *)
    echo "install-deps: unknown argument: $1" >&2
    exit 2
    ;;
esac

# dockerd needs apparmor_parser when the kernel has AppArmor enabled.
if [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || true)" == "Y" ]]; then
  pkgs+=(apparmor)
fi

# One dpkg-query for all packages; unknown ones are simply absent from its output.
declare -A installed=()
while read -r name want ok state; do
  [[ "$want $ok $state" == "install ok installed" ]] && installed["${name%%:*}"]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing: ${missing[*]}" >&2

sudo_cmd=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages and not root (no sudo): ${missing[*]}" >&2
    exit 1
  fi
fi

log="$(mktemp /tmp/dockline-apt.XXXXXX)"
trap 'rm -f "$log"' EXIT

run_quiet() {
  if ! "$@" >"$log" 2>&1; then
    echo "install-deps: FAILED: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

export DEBIAN_FRONTEND=noninteractive
run_quiet "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
run_quiet "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends "${missing[@]}"

# The package's service would serve a registry on every address (:5000). The tests start their
# own on loopback; one this script brought in is not left running or enabled at boot.
if [[ " ${missing[*]} " == *" docker-registry "* ]] && [[ -d /run/systemd/system ]]; then
  "${sudo_cmd[@]}" systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

if [[ ! -x /usr/bin/python3 ]]; then
  echo "install-deps: /usr/bin/python3 is missing after install" >&2
  exit 1
fi
echo "install-deps: done" >&2
