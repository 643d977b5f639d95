#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace dockline::server::metrics {

// --log-format json: one JSON object a line, {"time", "level", "logger", "msg"}; time is RFC 3339
// in UTC with microseconds. Messages carry text from callers and the daemon: whatever it holds
// (quotes, newlines, control characters, invalid UTF-8) stays inside the one line.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Switches docklined's logs to JSON lines: the default logger (renamed "docklined") and gRPC's
// own log lines, through a logger named "grpc" on the same sinks, so that every line on the
// output parses. Call once, before anything else logs or starts threads.
void UseJsonLogs();

}  // namespace dockline::server::metrics
