#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/result.h"

namespace dockline::client {

// Splits a command line the way Python's shlex.split() does, which is what docker-py applies
// to a string `command=`/`entrypoint=`: `sh -c "echo hi; exit 3"` gives the three words sh, -c
// and "echo hi; exit 3". POSIX rules: whitespace separates words; single quotes are literal;
// inside double quotes a backslash escapes only a double quote or a backslash; a bare backslash
// escapes the next character; adjacent quoted parts join one word. An unclosed quote or a
// trailing backslash is INVALID_ARGUMENT.
Result<std::vector<std::string>> ShlexSplit(std::string_view command);

}  // namespace dockline::client
