#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/docker_api.h"
#include "engine/engine.h"
#include "server/codec/exec_codec.h"

// One exec on the daemon (docker-py's exec_run) over the Engine API: POST
// /containers/{id}/exec, POST /exec/{id}/start with the connection hijacked (101 UPGRADED), the
// multiplexed (or, with a TTY, raw) output read until EOF, then GET /exec/{id}/json for the exit
// code, retried while the daemon still says Running (ENGINE_NOTES.md section 6).
//
// Docker has no way to kill an exec: when a client cancels (or its deadline passes) the
// hijacked connection is closed at once, but the process keeps running in the container until
// it exits by itself or the container stops.

namespace dockline::server {

// How long to keep asking GET /exec/{id}/json for the exit code after the output ended. The
// daemon sets it before it closes the streams, so the first answer nearly always has it; a
// slow reader can still see EOF first (the streams close after at most a 2 s drain).
struct ExitPollPolicy {
  std::chrono::milliseconds first_delay{5};
  std::chrono::milliseconds max_delay{250};
  std::chrono::milliseconds total{3000};
};

// The session: create, start (hijacked, or detached), output reads on demand, the exit code
// once the output has ended, stdin writes, resizes. Its owner (a unary chain or a stream core)
// drives it and hears back through a Listener; as an engine::Call it can be tracked and
// cancelled like any other step.
//
// Thread rules: the methods may be called from any thread, but never with the caller's own lock
// held across them, because Listener callbacks run on engine threads (the exit-code retry's
// timer included) without the session's lock held, and may call back into the session. mu_
// guards the session's state and is never held while calling out (engine, listener). At most
// one Read() may be outstanding; Read() is valid after OnExecStarted until OnExecOutput reports
// eof. After Cancel() no Listener callback is made. The session holds its listener weakly (the
// listener owns the session), and engine callbacks hold the session, so it lives as long as a
// step is in flight.
class ExecSession : public engine::Call, public std::enable_shared_from_this<ExecSession> {
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
    // The process exited. `output_end` is OK, or DATA_LOSS naming what was lost when the daemon
    // ended the output inside a frame: the exit code is still worth telling, but the call must
    // not pass as a success.
    virtual void OnExecExited(int exit_code, const grpc::Status& output_end) = 0;
    // Any failure, at any step; nothing follows.
    virtual void OnExecFailed(const grpc::Status& status) = 0;
  };

  // For a session over a bare engine (the unit tests' fake one); the RPCs pass their
  // DockerApi, which carries the configured unary timeout.
  struct Options {
    std::chrono::milliseconds unary_timeout{0};  // on the short calls; zero: none
    ExitPollPolicy poll;
  };

  ExecSession(engine::DockerApi api, ExecPlan plan, ExitPollPolicy poll,
              std::weak_ptr<Listener> listener);
  // The same over a bare engine, with `options.unary_timeout` on the short calls.
  ExecSession(std::shared_ptr<engine::Engine> engine, ExecPlan plan, Options options,
              std::weak_ptr<Listener> listener);
  ~ExecSession() override;

  void Begin();
  void Read();
  // Stdin on the hijacked connection; one write (or close) at a time. `done(false)` when the
  // connection is gone (the process exited, or it was never hijacked).
  void WriteStdin(std::string data, std::function<void(bool ok)> done);
  void CloseStdin(std::function<void(bool ok)> done);
  // Held until the exec has started (a resize before that waits 10 s in the daemon and fails);
  // only the latest size is sent when several arrive while one is in flight.
  void Resize(uint32_t rows, uint32_t columns);
  // Closes whatever is open (the hijacked connection, a pending exit-code retry) at once. The
  // process keeps running.
  void Cancel() override;

 private:
  uint64_t NextStep();  // false-y (0) once cancelled or done
  void Track(uint64_t step, std::shared_ptr<engine::Call> call);
  void OnCreated(engine::Result<std::string> res);
  void OnStartStream(engine::Result<engine::ApiResponse> res,
                     std::shared_ptr<engine::BodyStream> body);
  void OnRead(const engine::Status& status, std::string_view data, bool eof);
  void PollExit();
  void OnPolled(engine::Result<engine::Json> res);
  void ScheduleRetry(std::chrono::milliseconds delay);
  void DriveResize();
  // Marks the session over; the listener to tell, or null when it already was over.
  std::shared_ptr<Listener> End();
  void Fail(grpc::Status status);
  std::shared_ptr<Listener> ListenerIfLive();
  // The hijacked connection, unless cancelled or gone.
  std::shared_ptr<engine::BodyStream> LiveBody();

  const engine::DockerApi api_;
  const ExecPlan plan_;
  const ExitPollPolicy poll_;
  const std::weak_ptr<Listener> listener_;
  // Used only by the read callback, of which there is one at a time.
  ExecOutputDecoder decoder_;

  std::mutex mu_;
  bool cancelled_ = false;
  bool done_ = false;  // exited, failed or (detached) started: the session is over
  uint64_t step_ = 0;
  // The current step: an engine call, or the timer of the next exit-code poll.
  std::shared_ptr<engine::Call> step_call_;
  std::string id_;
  bool started_ = false;
  std::shared_ptr<engine::BodyStream> body_;
  bool eof_ = false;
  grpc::Status output_end_;  // set at eof: DATA_LOSS when the output was cut inside a frame
  std::chrono::steady_clock::time_point poll_started_;
  std::chrono::milliseconds next_delay_{0};
  std::optional<std::pair<uint32_t, uint32_t>> pending_resize_;
  bool resizing_ = false;
  uint64_t resize_gen_ = 0;
  std::shared_ptr<engine::Call> resize_call_;
};

}  // namespace dockline::server
