#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/demux.h"
#include "engine/engine.h"
#include "server/rpc/rpc_env.h"

// Exec (docker-py's exec_run) over the Engine API: POST /containers/{id}/exec, POST
// /exec/{id}/start with the connection hijacked (101 UPGRADED), the multiplexed (or, with a
// TTY, raw) output read until EOF, then GET /exec/{id}/json for the exit code, retried while
// the daemon still says Running (ENGINE_NOTES.md section 6).
//
// Docker has no way to kill an exec: when a client cancels (or its deadline passes) the
// hijacked connection is closed at once, but the process keeps running in the container until
// it exits by itself or the container stops.

namespace dockline::server {

struct ExecServiceOptions {
  // Per stream (stdout, stderr) cap on what ExecContainer keeps; past it the reply says
  // truncated=true and the rest is read and dropped (the process must not block on a full pipe).
  size_t output_cap = 16 << 20;
  // Cap on each short engine call (create, detached start, inspect, resize).
  std::chrono::milliseconds unary_timeout{60000};
};

namespace rpc {

grpc::ServerUnaryReactor* ExecContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::ExecContainerRequest* request,
                                        v1::ExecContainerResponse* response);
grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(const RpcEnv& env,
                                                             grpc::CallbackServerContext* ctx,
                                                             const v1::StreamExecRequest* request);
grpc::ServerUnaryReactor* StartExec(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                    const v1::StartExecRequest* request,
                                    v1::StartExecResponse* response);
grpc::ServerUnaryReactor* InspectExec(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                      const v1::InspectExecRequest* request,
                                      v1::InspectExecResponse* response);
grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
    const RpcEnv& env, grpc::CallbackServerContext* ctx);

}  // namespace rpc

// ---------------------------------------------------------------------------------------------
// The pieces the reactors share, exposed for unit tests.

enum class ExecMode { kCaptured, kStreamed, kDetached, kAttached };

// What one exec asks of the daemon and what is relayed back.
struct ExecPlan {
  std::string container;
  nlohmann::json create_body;  // the POST /containers/{id}/exec body
  bool tty = false;
  bool stdin = false;
  bool detach = false;
  // Which streams the client asked for. The daemon is attached to stdout even when neither is
  // wanted, because an exec with no attached stream ends its start call at once (no EOF at
  // the exit to wait for); that output is read and dropped.
  bool deliver_stdout = true;
  bool deliver_stderr = true;
};

// Validates `config` for `mode` (INVALID_ARGUMENT with the field path on bad input) and fills
// `plan`.
grpc::Status PlanExec(const v1::ExecConfig& config, ExecMode mode, ExecPlan* plan);

// GET /exec/{id}/json -> InspectExecResponse. False when `j` is not an exec document.
bool ExecInspectFromJson(const nlohmann::json& j, v1::InspectExecResponse* out);

struct OutputPiece {
  engine::StreamKind kind = engine::StreamKind::kStdout;  // kStdout or kStderr only
  std::string_view data;
};

// The hijacked stream's bytes -> the pieces the client asked for. Non-TTY: Docker's
// multiplexed frames (a "systemerr" frame is relayed as stderr, or stdout when stderr is not
// wanted); TTY: one raw stream, reported as stdout. Not thread-safe.
class ExecOutputDecoder {
 public:
  ExecOutputDecoder(bool tty, bool deliver_stdout, bool deliver_stderr);
  // Appends views into `bytes` to `pieces`. A bad frame header is Code::kProtocolError.
  engine::Status Feed(std::string_view bytes, std::vector<OutputPiece>* pieces);
  bool AtFrameBoundary() const { return tty_ || demux_.AtFrameBoundary(); }

 private:
  bool tty_;
  bool deliver_stdout_;
  bool deliver_stderr_;
  engine::FrameDemuxer demux_;
};

// ExecContainer's output with its per-stream cap. Not thread-safe.
class CapturedOutput {
 public:
  CapturedOutput(bool demux, size_t cap_per_stream) : demux_(demux), cap_(cap_per_stream) {}
  void Add(engine::StreamKind kind, std::string_view data);
  bool truncated() const { return truncated_; }
  // Fills output (or stdout and stderr when demuxed) and truncated.
  void MoveTo(v1::ExecContainerResponse* response);

 private:
  bool demux_;
  size_t cap_;
  size_t stdout_kept_ = 0;
  size_t stderr_kept_ = 0;
  bool truncated_ = false;
  std::string output_;
  std::string stdout_;
  std::string stderr_;
};

// How long to keep asking GET /exec/{id}/json for the exit code after the output ended. The
// daemon sets it before it closes the streams, so the first answer nearly always has it; a
// slow reader can still see EOF first (the streams close after at most a 2 s drain).
struct ExitPollPolicy {
  std::chrono::milliseconds first_delay{5};
  std::chrono::milliseconds max_delay{250};
  std::chrono::milliseconds total{3000};
};

// One exec on the daemon: create, start (hijacked, or detached), output reads on demand, the
// exit code once the output has ended, stdin writes, resizes. The reactors drive it and hear
// back through a Listener.
//
// Thread rules: the methods may be called from any thread but never with the caller's own lock
// held across a Listener callback, because Listener callbacks run on engine (or gRPC alarm)
// threads without the session's lock held, and may call back into the session. At most one
// Read() may be outstanding; Read() is valid after OnExecStarted until OnExecOutput reports
// eof. After Cancel() no Listener callback is made.
class ExecSession : public std::enable_shared_from_this<ExecSession> {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // The exec exists and (unless detached) its hijacked stream is open. A detached session
    // ends here.
    virtual void OnExecStarted(const std::string& exec_id) = 0;
    // The result of one Read(): pieces (views valid during the call; possibly none) and
    // whether the output has ended. After eof the session fetches the exit code.
    virtual void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) = 0;
    virtual void OnExecExited(int exit_code) = 0;
    // Any failure, at any step; nothing follows.
    virtual void OnExecFailed(const grpc::Status& status) = 0;
  };

  struct Options {
    std::chrono::milliseconds unary_timeout{60000};
    ExitPollPolicy poll;
  };

  ExecSession(std::shared_ptr<engine::Engine> engine, ExecPlan plan, Options options,
              std::weak_ptr<Listener> listener);
  ~ExecSession();

  void Begin();
  void Read();
  // Stdin on the hijacked connection; one write (or close) at a time. `done(false)` when the
  // connection is gone (the process exited, or it was never hijacked).
  void WriteStdin(std::string data, std::function<void(bool ok)> done);
  void CloseStdin(std::function<void(bool ok)> done);
  // Held until the exec has started (a resize before that waits 10 s in the daemon and fails);
  // only the latest size is sent when several arrive while one is in flight.
  void Resize(uint32_t rows, uint32_t columns);
  // Closes whatever is open (the hijacked connection at once). The process keeps running.
  void Cancel();

 private:
  uint64_t NextStep();  // false-y (0) once cancelled or done
  void Track(uint64_t step, std::shared_ptr<engine::Call> call);
  void OnCreated(engine::Result<engine::ApiResponse> res);
  void OnStartStream(engine::Result<engine::ApiResponse> res,
                     std::shared_ptr<engine::BodyStream> body);
  void OnRead(const engine::Status& status, std::string_view data, bool eof);
  void PollExit();
  void OnPolled(engine::Result<engine::ApiResponse> res);
  void ScheduleRetry(std::chrono::milliseconds delay);
  void DriveResize();
  void Fail(grpc::Status status);
  std::shared_ptr<Listener> ListenerIfLive();

  const std::shared_ptr<engine::Engine> engine_;
  const ExecPlan plan_;
  const Options options_;
  const std::weak_ptr<Listener> listener_;
  // Used only by the read callback, of which there is one at a time.
  ExecOutputDecoder decoder_;

  std::mutex mu_;
  bool cancelled_ = false;
  bool done_ = false;  // exited, failed or (detached) started: the session is over
  uint64_t step_ = 0;
  std::shared_ptr<engine::Call> step_call_;
  std::string id_;
  bool started_ = false;
  std::shared_ptr<engine::BodyStream> body_;
  bool eof_ = false;
  std::chrono::steady_clock::time_point poll_started_;
  std::chrono::milliseconds next_delay_{0};
  std::optional<std::pair<uint32_t, uint32_t>> pending_resize_;
  bool resizing_ = false;
  uint64_t resize_gen_ = 0;
  std::shared_ptr<engine::Call> resize_call_;

  // Alarm operations happen under their own lock, which is never held while calling out.
  std::mutex alarm_mu_;
  std::unique_ptr<grpc::Alarm> alarm_;
};

}  // namespace dockline::server
