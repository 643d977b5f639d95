#!/usr/bin/env bash
# The README's long fuzzing run as written, but for five seconds instead of an hour, a corpus
# directory of its own instead of /tmp/corpus, and this build tree for build-asan/. It must end
# with each job's run done and no finding.
#
# Usage: readme-test.sh FUZZ_BUILD_DIR
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$(cd "$1" && pwd)"
# shellcheck source=tests/readme/readme-block.sh
source "$repo_root/tests/readme/readme-block.sh"

fail() {
  printf 'fuzz readme-test: FAIL: %s\n' "$*" >&2
  exit 1
}

work="$(mktemp -d /tmp/dlfuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT

block="$(readme_block '<!-- readme-test:fuzz -->')"
[[ "$(wc -l <<<"$block")" == 1 && "$block" == *"-max_total_time=3600"* ]] ||
  fail "the README's fuzz block is not the one command this test knows: $block"
line="${block//\/tmp\/corpus/$work/corpus}"
line="${line//build-asan\//$build_dir/}"
line="${line//-max_total_time=3600/-max_total_time=5}"
line="${line// tests\/fuzz\/corpus\// $repo_root/tests/fuzz/corpus/}"
printf 'fuzz readme-test: README: %s\n  as: %s\n' "$block" "$line" >&2

# In a directory of its own: -jobs writes a fuzz-N.log per job into the working directory.
mkdir "$work/run"
cd "$work/run"
bash -euo pipefail -c "$line" || { cat fuzz-*.log >&2 2>/dev/null; fail "the README's line failed"; }
compgen -G 'crash-*' >/dev/null && fail "a finding: $(ls crash-*)"
grep -q -E '^Done [0-9]+ runs' fuzz-*.log 2>/dev/null ||
  fail "no job reported its runs: $(cat fuzz-*.log 2>/dev/null | tail -n 20)"
echo "fuzz readme-test: passed" >&2
