#include "server/metrics/json_log.h"

#include <fmt/format.h>
#include <grpc/support/log.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace dockline::server::metrics {
namespace {

std::string Rfc3339(spdlog::log_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds).count();
  const time_t t = static_cast<time_t>(seconds.count());
  tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
}

std::string Text(spdlog::string_view_t view) { return std::string(view.data(), view.size()); }

std::shared_ptr<spdlog::logger> grpc_logger;

// gRPC's log function has no user data: the logger it writes to is this file's.
void LogFromGrpc(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::info;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) {
    level = spdlog::level::debug;
  } else if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    level = spdlog::level::err;
  }
  grpc_logger->log(level, "{}", args->message != nullptr ? args->message : "");
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  // Ordered: time first, as a reader scans a log.
  const nlohmann::ordered_json line = {
      {"time", Rfc3339(msg.time)},
      {"level", Text(spdlog::level::to_string_view(msg.level))},
      {"logger", Text(msg.logger_name)},
      {"msg", Text(msg.payload)},
  };
  // Invalid UTF-8 becomes U+FFFD instead of a throw: log text comes from outside.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  dest.append(text.data(), text.data() + text.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

void UseJsonLogs() {
  // The default logger is nameless; a line's "logger" says which part of docklined wrote it.
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger()->clone("docklined");
  logger->set_formatter(std::make_unique<JsonLogFormatter>());
  spdlog::set_default_logger(logger);
  grpc_logger = logger->clone("grpc");
  gpr_set_log_function(LogFromGrpc);
}

}  // namespace dockline::server::metrics
