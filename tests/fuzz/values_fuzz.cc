// The value parsers of the CLI (docker's flag forms) and of the server (what a client puts in a
// request) see text typed by users or sent by any client. On any input they must return, never
// crash, and refuse with INVALID_ARGUMENT and a message; what they accept must be in range.
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/cli/values.h"
#include "client/shlex.h"
#include "client/spec_values.h"
#include "fuzz/fuzz_input.h"
#include "server/codec/validate.h"

namespace dockline::fuzz {
namespace {

void CheckRefusal(const grpc::Status& status) {
  if (status.ok()) return;
  DOCKLINE_FUZZ_CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  DOCKLINE_FUZZ_CHECK(!status.error_message().empty());
}

template <typename R>
bool Accepted(const R& result) {
  CheckRefusal(result.status);
  return result.ok();
}

void ParseCliValues(std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  Accepted(cli::ParseGoDuration(text));
  Accepted(cli::ParseTimeArg(text, now));
  if (auto seconds = cli::ParseSeconds(text); Accepted(seconds)) {
    DOCKLINE_FUZZ_CHECK(seconds.value.count() >= 0);
  }
  if (auto ports = cli::ParsePublish(text); Accepted(ports)) {
    DOCKLINE_FUZZ_CHECK(!ports.value.empty());
  }
  v1::ContainerSpec spec;
  CheckRefusal(cli::ParseVolume(text, spec));
  Accepted(cli::ParseMount(text));
  Accepted(cli::ParseTmpfs(text));
  Accepted(cli::ParseRestart(text));
  if (auto cpus = cli::ParseCpus(text); Accepted(cpus)) DOCKLINE_FUZZ_CHECK(cpus.value >= 0);
  if (auto ram = cli::ParseRamBytes(text); Accepted(ram)) DOCKLINE_FUZZ_CHECK(ram.value >= 0);
  Accepted(cli::ParseEnv(text, [](const std::string& name) -> std::optional<std::string> {
    if (name.empty()) return std::nullopt;
    return name + "-value";
  }));
  Accepted(cli::ParseLabel(text));
  Accepted(cli::ParseFilter(text));
  Accepted(cli::ParseWaitCondition(text));

  Accepted(client::ParseProtocol(text));
  if (auto port = client::ParseContainerPort(text); Accepted(port)) {
    DOCKLINE_FUZZ_CHECK(port.value.container_port() <= 65535);
  }
  if (auto port = client::ParsePortNumber(text, false); Accepted(port)) {
    DOCKLINE_FUZZ_CHECK(port.value >= 1 && port.value <= 65535);
  }
  Accepted(client::ParseVolumeMode(text));
  client::IsPropagation(text);
  if (auto words = client::ShlexSplit(text); Accepted(words)) {
    size_t bytes = 0;
    for (const auto& w : words.value) bytes += w.size();
    // Quotes and separators only ever go away.
    DOCKLINE_FUZZ_CHECK(bytes <= text.size());
  }
}

void ParseServerValues(std::string_view text) {
  int64_t bytes = 0;
  if (auto status = server::ParseMemory(text, &bytes); status.ok()) {
    DOCKLINE_FUZZ_CHECK(bytes >= 0);
  } else {
    CheckRefusal(status);
  }
  CheckRefusal(server::ValidateContainerName("spec.name", text));
  CheckRefusal(server::ValidateContainerRef("container", text));
  CheckRefusal(server::ValidateSignal("signal", text));
  server::HasControl(text);
  server::QuoteValue(text);
}

}  // namespace
}  // namespace dockline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  dockline::fuzz::ParseCliValues(text);
  dockline::fuzz::ParseServerValues(text);
  return 0;
}
