#include "client/shlex.h"

#include <fmt/format.h>

#include "client/quote.h"

namespace dockline::client {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Result<std::vector<std::string>> ShlexSplit(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  // An empty quoted string ("") is still a word, so presence is tracked apart from length.
  bool in_word = false;
  size_t i = 0;
  while (i < command.size()) {
    const char c = command[i];
    if (IsSpace(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
    } else if (c == '\'') {
      const size_t end = command.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return Error<std::vector<std::string>>(InvalidArgument(
            fmt::format("invalid command {}: no closing quotation", client::Quote(command))));
      }
      word.append(command.substr(i + 1, end - i - 1));
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < command.size()) {
        const char q = command[i];
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        // Inside double quotes a backslash escapes only '"' and '\'; elsewhere it is literal.
        if (q == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\')) {
          word.push_back(command[i + 1]);
          i += 2;
          continue;
        }
        word.push_back(q);
        ++i;
      }
      if (!closed) {
        return Error<std::vector<std::string>>(InvalidArgument(
            fmt::format("invalid command {}: no closing quotation", client::Quote(command))));
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) {
        return Error<std::vector<std::string>>(InvalidArgument(
            fmt::format("invalid command {}: no escaped character", client::Quote(command))));
      }
      word.push_back(command[i + 1]);
      in_word = true;
      i += 2;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return Ok(std::move(words));
}

}  // namespace dockline::client
