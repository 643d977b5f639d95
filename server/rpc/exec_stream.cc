// StreamExec (server stream) and AttachExec (bidi stream): one ExecSession relayed through an
// OutputQueue, with AttachExec also feeding stdin, closing it and resizing the terminal.

#include <spdlog/spdlog.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "server/reactor/legacy_call_reactor.h"
#include "server/reactor/output_queue.h"
#include "server/rpc/exec.h"

namespace dockline::server {
namespace {

using engine::StreamKind;

// Stdin received from the client but not yet written to the daemon. Past this the client's
// next message is not read (backpressure on the bidi stream).
constexpr size_t kMaxPendingStdinBytes = 256 * 1024;

template <typename Response>
Response OutputMessage(StreamKind kind, std::string&& chunk) {
  Response msg;
  auto* out = msg.mutable_output();
  out->set_stream(kind == StreamKind::kStderr ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
  out->set_data(std::move(chunk));
  return msg;
}

// The state machine of one streamed exec. `Reactor` is ServerWriteReactor<StreamExecResponse>
// or ServerBidiReactor<AttachExecRequest, AttachExecResponse>; the interactive parts exist
// only for the latter.
//
// Thread rules: session callbacks (engine and gRPC alarm threads) and gRPC reactions
// (OnWriteDone, OnReadDone, OnCancel; possibly concurrent) change state under mu_ and call
// Drive(), which decides under mu_ and then acts with mu_ released: StartWrite, StartRead,
// Finish and session calls are never made with mu_ held. Every reactor call decided under mu_
// is counted in reactor_calls_ until it has returned, and Finish waits for that count to reach
// zero, so no StartRead/StartWrite can reach a reactor that OnDone has already deleted.
template <typename Response, typename Reactor>
class ExecStreamCore : public ExecSession::Listener,
                       public std::enable_shared_from_this<ExecStreamCore<Response, Reactor>> {
 public:
  static constexpr bool kInteractive = std::is_same_v<Response, v1::AttachExecResponse>;

  ExecStreamCore(std::shared_ptr<engine::Engine> engine, const ExecServiceOptions& options)
      : engine_(std::move(engine)), options_(options), queue_(&OutputMessage<Response>) {}

  void Attach(Reactor* reactor) { reactor_ = reactor; }

  // StreamExec: the config came with the call.
  void BeginWithPlan(ExecPlan plan) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      MakeSession(std::move(plan));
    }
    Drive();
  }

  // AttachExec: the config is the first message.
  void BeginReading() { Drive(); }

  // --- ExecSession::Listener (session threads, mu_ not held) ---

  void OnExecStarted(const std::string& exec_id) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = true;
      Response msg;
      msg.set_exec_id(exec_id);
      queue_.Push(std::move(msg));
    }
    Drive();
  }

  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      for (const OutputPiece& piece : pieces) {
        queue_.Add(piece.kind, piece.data);
      }
      if (eof) {
        output_done_ = true;
      }
    }
    Drive();
  }

  void OnExecExited(int exit_code) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exited_ = true;
      Response msg;
      msg.mutable_exited()->set_exit_code(exit_code);
      queue_.Push(std::move(msg));
    }
    Drive();
  }

  void OnExecFailed(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Fail(status);
    }
    Drive();
  }

  // --- reactions ---

  void OnWriteDone(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.WriteDone();
      if (!ok) {
        Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      }
    }
    Drive();
  }

  void OnReadDone(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      read_pending_ = false;
      if (!ok) {
        // The client half-closed (or left): no more stdin.
        client_done_ = true;
        if (!session_ && !failure_) {
          Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "AttachExec: the stream ended before its first message (config)"));
        }
        close_requested_ = true;
      } else {
        HandleRequest();
      }
    }
    Drive();
  }

  void OnCancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the exec"));
    }
    Drive();
  }

  void OnDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    finished_ = true;
  }

 private:
  using Actions = std::vector<std::function<void()>>;

  void MakeSession(ExecPlan plan) {  // mu_ held
    tty_ = plan.tty;
    stdin_enabled_ = plan.stdin;
    ExecSession::Options session_options;
    session_options.unary_timeout = options_.unary_timeout;
    session_ = std::make_shared<ExecSession>(engine_, std::move(plan), session_options,
                                             this->weak_from_this());
    begin_pending_ = true;
  }

  void Fail(grpc::Status status) {  // mu_ held
    if (!failure_) {
      failure_ = std::move(status);
    }
  }

  // One AttachExecRequest is in request_; mu_ held.
  void HandleRequest() {
    if constexpr (kInteractive) {
      switch (request_.event_case()) {
        case v1::AttachExecRequest::kConfig: {
          if (session_) {
            return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "AttachExec: config may only be sent first"));
          }
          ExecPlan plan;
          grpc::Status st = PlanExec(request_.config(), ExecMode::kAttached, &plan);
          if (!st.ok()) {
            return Fail(st);
          }
          MakeSession(std::move(plan));
          return;
        }
        case v1::AttachExecRequest::kStdin:
        case v1::AttachExecRequest::kCloseStdin:
        case v1::AttachExecRequest::kResize:
          if (!session_) {
            return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "AttachExec: the first message must carry config"));
          }
          break;
        case v1::AttachExecRequest::EVENT_NOT_SET:
          return;
      }
      if (request_.has_resize()) {
        // Zero sizes are what an unknown terminal reports; docker skips them too.
        if (tty_ && request_.resize().rows() > 0 && request_.resize().columns() > 0) {
          resize_ = std::make_pair(request_.resize().rows(), request_.resize().columns());
        }
        return;
      }
      if (request_.has_close_stdin()) {
        // Harmless without stdin: there is nothing to close.
        if (request_.close_stdin() && stdin_enabled_) {
          close_requested_ = true;
        }
        return;
      }
      if (!stdin_enabled_) {
        return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "AttachExec: stdin sent, but config.stdin was not set"));
      }
      if (close_requested_) {
        return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "AttachExec: stdin sent after close_stdin"));
      }
      if (!stdin_dead_ && !request_.stdin().empty()) {
        stdin_bytes_ += request_.stdin().size();
        stdin_.push_back(std::move(*request_.mutable_stdin()));
      }
    }
  }

  void Drive() {
    Actions actions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Decide(&actions);
    }
    for (auto& action : actions) {
      action();
    }
  }

  void OnFlushDue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      flush_timer_.Fired();
    }
    Drive();
  }

  // Runs a reactor call decided under mu_, then lets a waiting Finish go ahead.
  void AddReactorCall(Actions* actions, std::function<void(Reactor*)> call) {  // mu_ held
    ++reactor_calls_;
    actions->push_back([self = this->shared_from_this(), r = reactor_, call = std::move(call)] {
      call(r);
      bool again = false;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        again = --self->reactor_calls_ == 0;
      }
      if (again) {
        self->Drive();
      }
    });
  }

  void Decide(Actions* actions) {  // mu_ held
    if (finished_) {
      return;
    }
    if (failure_) {
      if (session_ && !session_cancelled_) {
        session_cancelled_ = true;
        // Closes the hijacked connection at once; the process itself keeps running.
        actions->push_back([s = session_] { s->Cancel(); });
      }
      if (!queue_.writing() && reactor_calls_ == 0) {
        finished_ = true;
        actions->push_back([r = reactor_, st = *failure_] { r->Finish(st); });
      }
      return;
    }
    if (begin_pending_) {
      begin_pending_ = false;
      actions->push_back([s = session_] { s->Begin(); });
    }
    if (started_ && !output_done_ && !reading_ && queue_.HasRoom()) {
      reading_ = true;
      actions->push_back([s = session_] { s->Read(); });
    }
    if constexpr (kInteractive) {
      DecideInteractive(actions);
    }
    if (auto arm = flush_timer_.Arm(queue_.FlushIfIdle(), engine_,
                                    [self = this->shared_from_this()] { self->OnFlushDue(); })) {
      actions->push_back(std::move(arm));
    }
    if (const Response* next = queue_.NextWrite()) {
      AddReactorCall(actions, [next](Reactor* r) { r->StartWrite(next); });
    }
    if (exited_ && queue_.drained() && reactor_calls_ == 0) {
      finished_ = true;
      actions->push_back([r = reactor_] { r->Finish(grpc::Status::OK); });
    }
  }

  void DecideInteractive(Actions* actions) {  // mu_ held
    if (!exited_ && !client_done_ && !read_pending_ && stdin_bytes_ < kMaxPendingStdinBytes) {
      read_pending_ = true;
      AddReactorCall(actions, [this](Reactor* r) { r->StartRead(&request_); });
    }
    if (!session_) {
      return;
    }
    if (resize_) {
      actions->push_back([s = session_, size = *resize_] { s->Resize(size.first, size.second); });
      resize_.reset();
    }
    if (!started_ || !stdin_enabled_ || stdin_closed_ || stdin_writing_) {
      return;
    }
    if (stdin_dead_) {
      stdin_.clear();
      stdin_bytes_ = 0;
    }
    if (!stdin_.empty()) {
      stdin_writing_ = true;
      actions->push_back([self = this->shared_from_this(), s = session_,
                          data = std::move(stdin_.front())] {
        size_t size = data.size();
        s->WriteStdin(std::move(data), [self, size](bool ok) { self->OnStdinWritten(ok, size); });
      });
      stdin_.pop_front();
      return;
    }
    if (close_requested_ && !stdin_dead_) {
      stdin_closed_ = true;
      stdin_writing_ = true;
      actions->push_back([self = this->shared_from_this(), s = session_] {
        s->CloseStdin([self](bool ok) { self->OnStdinWritten(ok, 0); });
      });
    }
  }

  void OnStdinWritten(bool ok, size_t size) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stdin_writing_ = false;
      stdin_bytes_ -= size;
      if (!ok) {
        // The process has exited or closed the connection; its output and exit code still
        // matter, so the rest of stdin is dropped rather than failing the call.
        stdin_dead_ = true;
      }
    }
    Drive();
  }

  const std::shared_ptr<engine::Engine> engine_;
  const ExecServiceOptions options_;
  Reactor* reactor_ = nullptr;

  std::mutex mu_;
  std::shared_ptr<ExecSession> session_;
  bool begin_pending_ = false;
  bool session_cancelled_ = false;
  bool tty_ = false;
  bool started_ = false;
  bool reading_ = false;
  bool output_done_ = false;
  bool exited_ = false;
  OutputQueue<Response> queue_;
  FlushTimer flush_timer_;
  std::optional<grpc::Status> failure_;
  bool finished_ = false;
  int reactor_calls_ = 0;

  // AttachExec only.
  v1::AttachExecRequest request_;
  bool read_pending_ = false;
  bool client_done_ = false;
  bool stdin_enabled_ = false;
  std::deque<std::string> stdin_;
  size_t stdin_bytes_ = 0;  // queued plus the write in flight
  bool stdin_writing_ = false;
  bool close_requested_ = false;
  bool stdin_closed_ = false;
  bool stdin_dead_ = false;
  std::optional<std::pair<uint32_t, uint32_t>> resize_;
};

using StreamCore =
    ExecStreamCore<v1::StreamExecResponse, grpc::ServerWriteReactor<v1::StreamExecResponse>>;
using AttachCore =
    ExecStreamCore<v1::AttachExecResponse,
                   grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>>;

// Attach is bidirectional: its reactor also forwards reads.
class AttachExecReactor
    : public grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse> {
 public:
  explicit AttachExecReactor(std::shared_ptr<AttachCore> core) : core_(std::move(core)) {
    core_->Attach(this);
  }
  void OnReadDone(bool ok) override { core_->OnReadDone(ok); }
  void OnWriteDone(bool ok) override { core_->OnWriteDone(ok); }
  void OnCancel() override { core_->OnCancel(); }
  void OnDone() override {
    core_->OnDone();
    delete this;
  }

 private:
  std::shared_ptr<AttachCore> core_;
};

}  // namespace

grpc::ServerWriteReactor<v1::StreamExecResponse>* rpc::StreamExec(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::StreamExecRequest* request) {
  auto engine = env.api.engine_ptr();
  ExecServiceOptions options{env.options.exec_output_cap, env.options.unary_timeout};
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kStreamed, &plan); !st.ok()) {
    return new RejectedStream<v1::StreamExecResponse>(st);
  }
  auto core = std::make_shared<StreamCore>(std::move(engine), options);
  auto* reactor = new CoreWriteReactor<v1::StreamExecResponse, StreamCore>(core);
  core->BeginWithPlan(std::move(plan));
  return reactor;
}

grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* rpc::AttachExec(
    const RpcEnv& env, grpc::CallbackServerContext*) {
  auto engine = env.api.engine_ptr();
  ExecServiceOptions options{env.options.exec_output_cap, env.options.unary_timeout};
  auto core = std::make_shared<AttachCore>(std::move(engine), options);
  auto* reactor = new AttachExecReactor(core);
  core->BeginReading();
  return reactor;
}

}  // namespace dockline::server
