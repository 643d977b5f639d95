#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/status.h"
#include "server/auth/listener.h"
#include "server/rpc/retained_exec.h"

namespace dockline::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port (port 0 picks one) or unix:///path
  std::string docker_host = "unix:///var/run/docker.sock";
  int io_threads = 2;
  std::chrono::milliseconds health_interval{2000};
  // Serving on anything but loopback or a Unix socket needs TLS; this flag is the explicit
  // opt-out (warned about at every start).
  bool allow_insecure_remote = false;
  // Server TLS (both or neither); with a client CA, mTLS: a certificate signed by it is
  // required, and its URI SAN, else DNS SAN, else CN is the caller's identity.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // --policy: per identity, the RPC groups and the rules on typed fields (YAML, or JSON when
  // the name ends in .json); empty: everything is allowed. Reloaded by Reload().
  std::string policy_file;
  // --audit: one JSON line per mutating call, per exec and per refusal; "-" for stderr.
  std::string audit_file;
  // --max-streams / --max-streams-per-identity: open streaming calls; 0: no limit.
  size_t max_streams = 0;
  size_t max_streams_per_identity = 0;
  // `identity sha256:<hex>` lines: bearer tokens (plaintext only on loopback or Unix).
  std::string tokens_file;
  // A unix: listener's permission bits and group, applied once the socket is bound.
  mode_t listen_mode = 0660;
  std::string listen_group;
  // ExecContainer keeps at most this much of each output stream (truncated=true past it).
  size_t exec_output_cap = 16 << 20;
  // Execs started with retain_output: output kept, linger after the exit, how many at once.
  RetainOptions exec_retain;
  // The largest unary reply body read from the daemon; past it the call is RESOURCE_EXHAUSTED.
  size_t max_reply_bytes = 32 << 20;
  // See engine::DockerEngineOptions::inline_reply_budget; zero turns it off.
  std::chrono::microseconds inline_reply_wait{2000};
  // A request larger than this is INVALID_ARGUMENT naming both sizes; gRPC drops one larger than
  // twice this unread (RESOURCE_EXHAUSTED).
  size_t max_request_bytes = 4 << 20;
  // A connection quiet for keepalive_time is pinged, and closed when the ping is not answered
  // within keepalive_timeout: a client that vanished does not hold its follow streams (and their
  // daemon connections) forever. Each at least 1ms and at most INT_MAX ms.
  std::chrono::milliseconds keepalive_time{60000};
  std::chrono::milliseconds keepalive_timeout{20000};
  // --metrics-listen: host:port serving Prometheus text at /metrics (loopback unless
  // allow_insecure_remote; port 0 picks one); empty: no metrics at all, not even counting.
  std::string metrics_listen;
};

// Every follow stream and exec holds a daemon connection, so the 1024 open files a service
// gets by default end at about a thousand streams. Raises the soft limit to the hard one and
// returns the soft limit now in force.
uint64_t RaiseOpenFileLimit();

// docklined's parts wired together: the engine, the service, reflection, grpc.health.v1 (kept
// NOT_SERVING while the daemon does not answer /_ping) and keepalive settings for long streams.
class DocklineServer {
 public:
  static engine::Result<std::unique_ptr<DocklineServer>> Start(const ServerOptions& options);
  ~DocklineServer();

  int port() const;             // the bound TCP port, 0 for a Unix socket
  std::string address() const;  // what a client dials
  // Stops accepting, lets calls end until `deadline`, cancels the rest, stops the engine.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  void Wait();
  // SIGHUP: re-reads the tokens and the policy (a bad file keeps what is in force) and reopens
  // the audit file.
  // Returns what went wrong, if anything; the server keeps serving either way.
  engine::Status Reload();
  // Streaming calls open now, as counted for --max-streams (0 without stream limits or audit).
  size_t OpenStreams() const;
  // The bound --metrics-listen port; 0 without metrics.
  int metrics_port() const;

  class Impl;

 private:
  explicit DocklineServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dockline::server
