# Sourced by the tests that run the README's shell blocks as written.
# shellcheck shell=bash

readme_path="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md"

# readme_block START: the first ```sh block after the README line START (a heading, or a
# <!-- readme-test:NAME --> marker; indentation ignored), a command a line: a line ending in a
# backslash is joined with the next, as the shell would.
readme_block() {
  awk -v start="$1" '
    { line = $0; sub(/^ +/, "", line) }
    line == start && !found { found = 1; next }
    found == 1 && line ~ /^```sh/ { found = 2; next }
    found == 2 && line ~ /^```/ { exit }
    found == 2 { print line }' "$readme_path" | sed -e ':a' -e '/\\$/N; s/ *\\\n */ /; ta'
}
