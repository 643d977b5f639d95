#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/client_attach.h"
#include "client/client_exec.h"
#include "client/client_health.h"
#include "client/container_spec_builder.h"
#include "client/credentials.h"
#include "client/result.h"
#include "dockline/v1/dockline.grpc.pb.h"
#include "dockline/v1/dockline.pb.h"

namespace dockline::client {

inline constexpr std::chrono::milliseconds kDefaultKeepaliveTime{30000};
inline constexpr std::chrono::milliseconds kDefaultKeepaliveTimeout{20000};

struct ClientOptions {
  // Deadline of each short call (create, start, inspect, list, ...). Unset: none. Calls that last
  // as long as a container does (Wait, an attached Run) ignore it and take their own timeout;
  // Stop and Restart add their grace period to it.
  std::optional<std::chrono::nanoseconds> default_timeout;
  // `{}`: an initializer keeps ClientOptions{timeout} free of missing-initializer warnings.
  // Set: the channel uses TLS, with a client certificate when the options hold one (mTLS).
  std::optional<TlsOptions> tls{};
  // Bearer token, sent as `authorization: Bearer <token>` on every call: as call credentials
  // over TLS, as plain metadata over a plaintext channel to a loopback or unix address (and
  // refused over plaintext to anywhere else). Empty: none.
  std::string token{};
  // While a call is open, ping a connection that has been quiet this long, and drop it when the
  // ping is not answered within keepalive_timeout: a follow stream that sees no output for hours
  // survives NATs and proxies that close idle connections, and learns when the server is gone
  // (UNAVAILABLE) instead of waiting forever. Zero: no pings. docklined accepts pings as often as
  // every 10s (server/auth/limits.h); a server that accepts fewer may answer GOAWAY.
  std::chrono::milliseconds keepalive_time{kDefaultKeepaliveTime};
  std::chrono::milliseconds keepalive_timeout{kDefaultKeepaliveTimeout};
  // tls, token and keepalive shape the channel, so only Connect and Open read them: a channel
  // passed to the constructor carries whatever settings it was made with.
};

struct RunOptions {
  // Return once the container has started (RunResult has the id, no exit code).
  bool detach = false;
  // Keep the output in RunResult. Turn off when on_output consumes a stream of unbounded size.
  bool collect_output = true;
  // Each output chunk as it arrives, on the calling thread. STDOUT also carries a TTY's output.
  std::function<void(v1::Stream, std::string_view)> on_output;
  // Every message of the stream (started, output, exited), before on_output sees it.
  std::function<void(const v1::RunContainerResponse&)> on_event;
  // Set OutputChunk.timestamp (only visible through on_event).
  bool timestamps = false;
  // Pull the image first: MISSING (unset: the server's default, missing), ALWAYS or NEVER. The
  // pull's progress comes through on_event before `started`.
  v1::PullPolicy pull = v1::PULL_POLICY_UNSPECIFIED;
  v1::RegistryAuth registry_auth;
  // Deadline of the whole call. Unset: none when attached, the client's default when detached.
  std::optional<std::chrono::nanoseconds> timeout;
};

struct RunResult {
  std::string id;
  std::vector<std::string> warnings;
  // The container's exit status; -1 until the exit arrives (detached, or the stream broke).
  int64_t exit_code = -1;
  std::string error;     // the daemon's wait error, if any
  bool removed = false;  // the container no longer exists (auto_remove)
  std::string stdout_bytes;
  std::string stderr_bytes;
  std::string output;  // both streams in arrival order
};

using Filters = std::vector<std::pair<std::string, std::string>>;

// images.pull(...) options.
struct PullOptions {
  std::string platform;  // "linux/amd64"; empty: the daemon's own
  v1::RegistryAuth registry_auth;
  // Each progress line as it arrives, on the calling thread.
  std::function<void(const v1::PullProgress&)> on_progress;
  // Deadline of the whole pull. Unset: none.
  std::optional<std::chrono::nanoseconds> timeout;
};

// container.logs(...) options, docker-py's defaults.
struct LogsOptions {
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool follow = false;
  bool timestamps = false;      // OutputChunk.timestamp per log entry
  std::optional<int64_t> tail;  // unset: all
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<std::chrono::system_clock::time_point> until;
  std::optional<std::chrono::nanoseconds> timeout;  // whole call; unset: none
  // An OutputChunk.cursor: continue just after that chunk (then since and tail stay unset).
  std::string resume_from;
};

struct LogsResult {
  std::string stdout_bytes;
  std::string stderr_bytes;
  std::string output;  // both streams in arrival order
};

// A log stream being read, like docker-py's logs(stream=True) generator. Cancel() may be
// called from another thread (a follow loop in a thread, stopped from outside).
class LogStream {
 public:
  LogStream(std::unique_ptr<grpc::ClientContext> context,
            std::unique_ptr<grpc::ClientReaderInterface<v1::StreamLogsResponse>> reader)
      : context_(std::move(context)), reader_(std::move(reader)) {}
  // The next chunk; false at the end (then Finish() says why).
  bool Next(v1::OutputChunk* chunk);
  grpc::Status Finish();
  void Cancel() { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderInterface<v1::StreamLogsResponse>> reader_;
};

// docker-py-like container lifecycle over the dockline.v1 stubs. Every call is synchronous and
// reports its grpc::Status in a Result (or alone when the reply carries nothing); nothing
// throws. A Client may be used from several threads at once; callbacks run on the calling
// thread.
class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options = {});
  // For tests that substitute the stub.
  explicit Client(std::unique_ptr<v1::Dockline::StubInterface> stub, ClientOptions options = {});

  // A channel to "host:port", "unix:///path" (or "tcp://host:port", docker's spelling) with the
  // options' TLS, token and keepalive. Options NewChannel refuses (see credentials.h) and a
  // negative keepalive are INVALID_ARGUMENT or FAILED_PRECONDITION, naming what is wrong and
  // never holding the token.
  static Result<std::unique_ptr<Client>> Open(const std::string& address,
                                              ClientOptions options = {});
  // Open without the Result: when the options are refused, every call fails with
  // INVALID_ARGUMENT on a channel that sends nothing. Use Open to learn why.
  static Client Connect(const std::string& address, ClientOptions options = {});

  // containers.run(): create, start, stream the output, then the exit status. On failure the
  // value still holds what arrived first (the id once started, output so far).
  Result<RunResult> Run(const v1::ContainerSpec& spec, const RunOptions& options = {});

  // `pull`: as RunOptions::pull (the create pulls quietly).
  Result<v1::CreateContainerResponse> Create(const v1::ContainerSpec& spec,
                                             v1::PullPolicy pull = v1::PULL_POLICY_UNSPECIFIED,
                                             const v1::RegistryAuth& registry_auth = {});
  Result<v1::StartContainerResponse> Start(const std::string& container);
  // `timeout` is the grace period before SIGKILL; unset: the container's own, else 10s.
  Result<v1::StopContainerResponse> Stop(const std::string& container,
                                         std::optional<std::chrono::nanoseconds> timeout = {});
  grpc::Status Restart(const std::string& container,
                       std::optional<std::chrono::nanoseconds> timeout = {});
  // `signal`: "SIGKILL" (empty: the default), "SIGINT", "9", ...
  grpc::Status Kill(const std::string& container, std::string_view signal = {});
  grpc::Status Remove(const std::string& container, bool force = false, bool volumes = false);
  Result<v1::InspectContainerResponse> Inspect(const std::string& container);
  // containers.list(all, filters): {{"label", "a=b"}, {"status", "exited"}}; keys may repeat.
  Result<v1::ListContainersResponse> List(bool all = false, const Filters& filters = {},
                                          int limit = 0);
  // container.wait(timeout, condition). A timeout that passes gives DEADLINE_EXCEEDED; unset
  // waits as long as it takes, like docker-py.
  Result<v1::WaitContainerResponse> Wait(
      const std::string& container, std::optional<std::chrono::nanoseconds> timeout = {},
      v1::WaitCondition condition = v1::WAIT_CONDITION_UNSPECIFIED);
  Result<v1::GetEngineInfoResponse> EngineInfo();

  // container.logs(): the whole log (or, with follow, everything until the container exits).
  Result<LogsResult> Logs(const std::string& container, const LogsOptions& options = {});
  // container.logs(stream=True): chunks as they come.
  std::unique_ptr<LogStream> StreamLogs(const std::string& container,
                                        const LogsOptions& options = {});

  // container.exec_run(cmd, ...): waits for the command and returns its exit code with its
  // output, combined or (options.demux) stdout and stderr apart. The server caps what it keeps
  // (ExecResult.truncated); a non-zero exit code is data, not an error.
  Result<ExecResult> ExecRun(const std::string& container, const ExecCommand& cmd,
                             const ExecOptions& options = {});
  // exec_run(stream=True, demux=True): chunks through options.on_output as they arrive, then
  // the exit code (which docker-py cannot give here). On failure the value holds the output so
  // far.
  Result<ExecResult> ExecStream(const std::string& container, const ExecCommand& cmd,
                                const ExecOptions& options = {});
  // The output of an exec started with retain_output, from byte `offset` (ExecResult.offset of
  // an earlier call; 0: all that is kept), then its exit code; reattaches again when the
  // connection drops, for options.reattach_within.
  Result<ExecResult> ExecResume(const std::string& exec_id, uint64_t offset,
                                const ExecOptions& options = {});
  // exec_run(detach=True): returns the exec id once the process has started.
  Result<std::string> ExecStart(const std::string& container, const ExecCommand& cmd,
                                const ExecOptions& options = {});
  // Whether the exec still runs, its exit code and pid.
  Result<v1::InspectExecResponse> ExecInspect(const std::string& exec_id);
  // exec_run(stdin=True, socket=True): an interactive exec, returned once it has started.
  Result<std::unique_ptr<ExecAttachment>> ExecAttach(const std::string& container,
                                                     const ExecCommand& cmd,
                                                     const ExecOptions& options = {});

  // container.attach_socket() / docker attach: returned once attached (with options.start, the
  // container is then started). NOT_FOUND for no such container, FAILED_PRECONDITION for one
  // that is not running (without start) or, with stdin, was created without stdin_open.
  Result<std::unique_ptr<ContainerAttachment>> Attach(const std::string& container,
                                                      const AttachOptions& options = {});

  // attrs["State"]["Health"] plus the container's status: the daemon goes on reporting a
  // stopped container as unhealthy.
  Result<v1::GetHealthResponse> GetHealth(const std::string& container);
  // The spec's wait_for_healthy, event-driven on the server: the health once healthy;
  // FAILED_PRECONDITION when it turns unhealthy, has no healthcheck or stops; DEADLINE_EXCEEDED
  // once `timeout` passes. Unset waits as long as it takes.
  Result<v1::WaitHealthyResponse> WaitHealthy(const std::string& container,
                                              std::optional<std::chrono::nanoseconds> timeout = {});
  // Health transitions until the container stops or is removed (OK), `on_change` returns false
  // (OK), or `timeout` passes (DEADLINE_EXCEEDED).
  grpc::Status WatchHealth(const std::string& container, const HealthWatchCallback& on_change,
                           std::optional<std::chrono::nanoseconds> timeout = {});
  // container.stats(stream=False): one sample (about a second: the daemon takes two).
  Result<v1::ContainerStats> GetStats(const std::string& container);
  // container.stats(stream=True): each sample to `on_sample` until it returns false (OK), the
  // container is removed (OK) or the call fails.
  grpc::Status StreamStats(const std::string& container, const StatsCallback& on_sample);
  // container.get_archive(path), docker cp's copy-out: the path's stat to `on_stat`, then each
  // piece of the tar archive to `on_data` until it returns false (OK; the call is cancelled) or
  // the archive ends.
  grpc::Status CopyFromContainer(const std::string& container, const std::string& path,
                                 const std::function<void(const v1::PathStat&)>& on_stat,
                                 const std::function<bool(std::string_view)>& on_data);
  // Gives the next piece of a tar archive to upload: sets `*eof` at the end (a last piece may
  // come with it); a failure abandons the copy (the daemon discards it) and is returned.
  using ArchiveSource = std::function<grpc::Status(std::string* piece, bool* eof)>;
  // container.put_archive(path, data), docker cp's copy-in: the archive is extracted into the
  // directory target.path. Pieces are sent as the server takes them, one at a time.
  grpc::Status CopyToContainer(const v1::CopyTarget& target, const ArchiveSource& source);
  // client.events(since, until, filters): each event to `on_event` until it returns false
  // (OK), `until` passes (OK) or the call fails.
  grpc::Status WatchEvents(const EventsOptions& options, const EventCallback& on_event);
  // containers/images/volumes/networks.prune(filters): what was deleted (or, dry_run, what
  // would be) and the bytes reclaimed. Only images and volumes read PruneOptions::all.
  Result<v1::PruneContainersResponse> PruneContainers(const PruneOptions& options = {});
  Result<v1::PruneImagesResponse> PruneImages(const PruneOptions& options = {});
  Result<v1::PruneVolumesResponse> PruneVolumes(const PruneOptions& options = {});
  Result<v1::PruneNetworksResponse> PruneNetworks(const PruneOptions& options = {});

  // images.pull(repository:tag): the progress through options.on_progress, then the image.
  Result<v1::PulledImage> Pull(const std::string& image, const PullOptions& options = {});
  // images.list(name, all, filters).
  Result<v1::ListImagesResponse> ListImages(const std::string& name = {}, bool all = false,
                                            const Filters& filters = {});
  Result<v1::InspectImageResponse> InspectImage(const std::string& image);
  Result<v1::RemoveImageResponse> RemoveImage(const std::string& image, bool force = false,
                                              bool no_prune = false);

  // The RPCs this class does not wrap yet.
  v1::Dockline::StubInterface& stub() { return *stub_; }

 private:
  grpc::Status ReattachExec(const ExecOptions& options, ExecResult* exec, bool* exited,
                            bool first_now);
  // The default timeout stretched by `extra`, for calls that legitimately take that much longer.
  std::optional<std::chrono::nanoseconds> DefaultTimeout(std::chrono::nanoseconds extra = {}) const;

  std::unique_ptr<v1::Dockline::StubInterface> stub_;
  ClientOptions options_;
};

}  // namespace dockline::client
