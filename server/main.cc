#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server/auth/limits.h"
#include "server/auth/listener.h"
#include "server/codec/spec_codec.h"
#include "server/metrics/json_log.h"
#include "server/server.h"

namespace {

// A byte-size flag ("16m", "512k", "1048576"); false, having said why, when it is not one.
bool ParseSizeFlag(const char* flag, const std::string& text, size_t* out) {
  int64_t bytes = 0;
  if (grpc::Status st = dockline::server::ParseMemory(text, &bytes); !st.ok() || bytes <= 0) {
    // ParseMemory names the spec field it usually checks; the flag is what the user typed.
    std::string why = st.ok() ? "must be at least 1 byte" : st.error_message();
    if (why.rfind("spec.memory: ", 0) == 0) {
      why.erase(0, 13);
    }
    std::fprintf(stderr, "%s: %s\n", flag, why.c_str());
    return false;
  }
  *out = static_cast<size_t>(bytes);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  dockline::server::ServerOptions options;
  if (const char* host = std::getenv("DOCKER_HOST"); host != nullptr && *host != '\0') {
    options.docker_host = host;
  }
  std::string log_level = "info";
  int grace_seconds = 5;

  CLI::App app{"docklined: the Docker container lifecycle over gRPC"};
  app.add_option("--listen", options.listen,
                 "address to serve on: host:port (loopback unless --allow-insecure-remote) or "
                 "unix:///path")
      ->capture_default_str();
  app.add_option("--docker-host", options.docker_host,
                 "the Docker daemon's socket (default: DOCKER_HOST, else "
                 "unix:///var/run/docker.sock)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object a line (time, level, logger, msg)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--metrics-listen", options.metrics_listen,
                 "serve Prometheus metrics at http://HOST:PORT/metrics (loopback unless "
                 "--allow-insecure-remote; unset: no metrics)");
  app.add_option("--io-threads", options.io_threads, "threads talking to the daemon")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--shutdown-grace", grace_seconds, "seconds to let calls finish on SIGINT/SIGTERM")
      ->capture_default_str();
  std::string exec_output_cap = "16m";
  app.add_option("--exec-output-cap", exec_output_cap,
                 "ExecContainer keeps at most this much of each output stream (bytes, or with a "
                 "unit: 512k, 16m, 1g); past it the reply says truncated")
      ->capture_default_str();
  std::string exec_retain_size = "1m";
  app.add_option("--exec-retain-size", exec_retain_size,
                 "output kept per exec started with retain_output, for a client to reattach "
                 "(bytes, or 512k, 1m, ...); past it the oldest goes while no client reads")
      ->capture_default_str();
  std::string exec_retain_linger = "5m";
  app.add_option("--exec-retain-linger", exec_retain_linger,
                 "how long a retained exec's output and exit code are kept after it exits")
      ->capture_default_str();
  app.add_option("--exec-retain-max", options.exec_retain.max_execs,
                 "retained execs kept at once (running or exited)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  std::string max_reply_size = "32m";
  app.add_option("--max-reply-size", max_reply_size,
                 "the largest reply body read from the daemon for inspect, list and the like "
                 "(bytes, or with a unit); past it the call is RESOURCE_EXHAUSTED")
      ->capture_default_str();
  std::string inline_reply_wait = "2ms";
  app.add_option("--inline-reply-wait", inline_reply_wait,
                 "how long a one-call unary RPC (inspect, list, stop...) waits for the daemon on "
                 "gRPC's own thread before handing over to an engine thread; a reply within it "
                 "crosses no thread (0: always hand over)")
      ->capture_default_str();
  app.add_flag("--allow-insecure-remote", options.allow_insecure_remote,
               "serve a non-loopback address without TLS (anyone who reaches it is root here)");
  app.add_option("--tls-cert", options.tls_cert_file, "the server's certificate chain (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "the server certificate's key (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "require a client certificate signed by this CA (PEM); its URI SAN, else DNS "
                 "SAN, else CN is the caller's identity")
      ->check(CLI::ExistingFile);
  app.add_option("--tokens", options.tokens_file,
                 "bearer tokens: one 'IDENTITY sha256:<hex of the token>' a line; callers then "
                 "send 'authorization: Bearer TOKEN' (over TLS unless on loopback/unix); "
                 "re-read on SIGHUP")
      ->check(CLI::ExistingFile);
  std::string listen_mode = "0660";
  app.add_option("--listen-mode", listen_mode, "a unix: listener's permission bits (octal)")
      ->capture_default_str();
  app.add_option("--listen-group", options.listen_group, "a unix: listener's group");
  // Request size and keepalive (parsed with the other limits below).
  std::string max_request_size = "4m";
  app.add_option("--max-request-size", max_request_size,
                 "largest request accepted (bytes, or with a unit: 512k, 4m); a larger one is "
                 "INVALID_ARGUMENT naming both sizes")
      ->capture_default_str();
  std::string keepalive_time = "60s";
  app.add_option("--keepalive-time", keepalive_time,
                 "ping a connection after this long without activity (30s, 2m, ...)")
      ->capture_default_str();
  std::string keepalive_timeout = "20s";
  app.add_option("--keepalive-timeout", keepalive_timeout,
                 "close a connection whose ping goes unanswered this long")
      ->capture_default_str();
  app.add_option("--policy", options.policy_file,
                 "per identity: the RPC groups it may call and rules on images, host paths, "
                 "networks, exec and container ownership (YAML, or JSON if it ends in .json); "
                 "re-read on SIGHUP. Without it every authenticated caller may do everything")
      ->check(CLI::ExistingFile);
  app.add_option("--audit", options.audit_file,
                 "append one JSON line per mutating call, exec and refusal to this file ('-': "
                 "stderr); reopened on SIGHUP");
  app.add_option("--max-streams", options.max_streams,
                 "streaming calls open at once, server-wide (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-streams-per-identity", options.max_streams_per_identity,
                 "streaming calls one identity may have open at once (0: no limit)")
      ->capture_default_str();
  app.set_version_flag("--version", DOCKLINE_VERSION);
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  if (log_format == "json") {
    dockline::server::metrics::UseJsonLogs();
  }
  if (!ParseSizeFlag("--exec-output-cap", exec_output_cap, &options.exec_output_cap) ||
      !ParseSizeFlag("--max-reply-size", max_reply_size, &options.max_reply_bytes) ||
      !ParseSizeFlag("--exec-retain-size", exec_retain_size, &options.exec_retain.bytes)) {
    return 2;
  }
  auto mode = dockline::server::auth::ParseListenMode(listen_mode);
  if (!mode.ok()) {
    std::fprintf(stderr, "%s\n", mode.status().message().c_str());
    return 2;
  }
  options.listen_mode = mode.value();
  auto max_request =
      dockline::server::auth::ParseByteSizeFlag("--max-request-size", max_request_size);
  auto keepalive = dockline::server::auth::ParseDurationFlag("--keepalive-time", keepalive_time);
  auto keepalive_wait =
      dockline::server::auth::ParseDurationFlag("--keepalive-timeout", keepalive_timeout);
  auto retain_linger =
      dockline::server::auth::ParseDurationFlag("--exec-retain-linger", exec_retain_linger);
  for (const dockline::engine::Status* st : {&max_request.status(), &keepalive.status(),
                                             &keepalive_wait.status(), &retain_linger.status()}) {
    if (!st->ok()) {
      std::fprintf(stderr, "%s\n", st->message().c_str());
      return 2;
    }
  }
  if (inline_reply_wait != "0") {
    auto wait = dockline::server::auth::ParseDurationFlag("--inline-reply-wait", inline_reply_wait);
    if (!wait.ok()) {
      std::fprintf(stderr, "%s\n", wait.status().message().c_str());
      return 2;
    }
    options.inline_reply_wait = wait.value();
  } else {
    options.inline_reply_wait = std::chrono::microseconds(0);
  }
  options.max_request_bytes = max_request.value();
  options.keepalive_time = keepalive.value();
  options.keepalive_timeout = keepalive_wait.value();
  options.exec_retain.linger = retain_linger.value();

  // Block the shutdown and reload signals before any thread starts, so that only sigwait below
  // sees them and Shutdown and Reload run on the main thread, never on a gRPC or engine thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  uint64_t open_files = dockline::server::RaiseOpenFileLimit();
  spdlog::debug("open files limit: {}", open_files);
  if (open_files < 4096) {
    spdlog::warn(
        "open files limit is {}: each log follow or exec holds one; raise the hard "
        "limit (LimitNOFILE=) for more concurrent streams",
        open_files);
  }

  auto server = dockline::server::DocklineServer::Start(options);
  if (!server.ok()) {
    spdlog::critical("{}", server.status().message());
    return 1;
  }
  spdlog::info("docklined {} serving on {} for {}", DOCKLINE_VERSION, server.value()->address(),
               options.docker_host);

  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    spdlog::info("SIGHUP: reloading the tokens and the policy, reopening the audit file");
    server.value()->Reload();
  }
  spdlog::info("signal {}: shutting down", received);
  server.value()->Shutdown(std::chrono::seconds(grace_seconds));
  return 0;
}
