#pragma once

#include <string>
#include <string_view>

namespace dockline::client {

// `value` in double quotes for an error message, as Go's %q and fmt's {:?} show it: quotes and
// backslashes escaped, \n \r \t, other control bytes and every byte that is not part of valid
// UTF-8 as \xNN. The result is always valid UTF-8. Used instead of fmt's {:?}, which aborts on
// invalid UTF-8 in a process that also loads Debian's libspdlog (fmt 9.1 and spdlog 1.10 carry
// different instantiations of its writer).
std::string Quote(std::string_view value);

}  // namespace dockline::client
