#include "server/codec/attach_codec.h"

#include <string>
#include <string_view>

#include "server/codec/field_error.h"
#include "server/codec/validate.h"

namespace dockline::server {

bool ValidDetachKeys(std::string_view keys) {
  if (keys.empty()) {
    return false;
  }
  size_t start = 0;
  while (start <= keys.size()) {
    size_t end = keys.find(',', start);
    if (end == std::string_view::npos) {
      end = keys.size();
    }
    std::string_view key = keys.substr(start, end - start);
    constexpr std::string_view kCtrl = "ctrl-";
    bool ok = key.size() == 1 ||
              (key.size() == kCtrl.size() + 1 && key.substr(0, kCtrl.size()) == kCtrl &&
               ((key.back() >= 'a' && key.back() <= 'z') ||
                std::string_view("@[\\]^_").find(key.back()) != std::string_view::npos));
    if (!ok) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

grpc::Status PlanAttach(const v1::AttachConfig& config, engine::AttachQuery* query) {
  if (grpc::Status st = ValidateContainerRef("config.container", config.container()); !st.ok()) {
    return st;
  }
  if (!config.detach_keys().empty() && !ValidDetachKeys(config.detach_keys())) {
    return InvalidField("config.detach_keys",
                        "want keys separated by commas, each one character or ctrl-<a-z, @, [, "
                        "\\, ], ^ or _>, got " +
                            QuoteValue(config.detach_keys()));
  }
  const bool want_stdout = !config.has_stdout() || config.stdout();
  const bool want_stderr = !config.has_stderr() || config.stderr();
  query->want_stdin = config.stdin();
  query->want_stdout = want_stdout || !want_stderr;
  query->want_stderr = want_stderr;
  query->logs = config.logs();
  query->detach_keys = config.detach_keys();
  return grpc::Status::OK;
}

}  // namespace dockline::server
