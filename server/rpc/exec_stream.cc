// StreamExec (server stream) and AttachExec (bidi stream): one ExecSession relayed through the
// stream core's output queue, with AttachExec also feeding stdin, closing it and resizing the
// terminal.

#include "server/rpc/exec_stream.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "server/codec/exec_codec.h"
#include "server/codec/output_chunk.h"
#include "server/policy/rules.h"
#include "server/reactor/stdin_relay.h"
#include "server/reactor/stream_core.h"
#include "server/rpc/exec_session.h"
#include "server/rpc/first_message.h"

namespace dockline::server {
namespace {

// One streamed exec on the stream core. `Reactor` is ServerWriteReactor<StreamExecResponse>
// (StreamExec: the config came with the call) or ServerBidiReactor<AttachExecRequest,
// AttachExecResponse> (AttachExec: the config is the first message, then stdin, close_stdin
// and resizes); the interactive parts exist only for the latter.
//
// Thread rules: those of StreamCore. Session callbacks (engine threads) and gRPC reactions
// (OnReadDone here, the rest in the core) change state under mu_ and drive; the session is
// made under mu_ but called (Begin, Read, WriteStdin, CloseStdin, Resize, Cancel) only from
// actions, with mu_ released, because its callbacks may come back on the calling thread. The
// session holds this core weakly, the core holds the session; OnEnd cancels it.
template <typename Response, typename Reactor>
class ExecStreamCore : public StreamCore<ExecStreamCore<Response, Reactor>, Response, Reactor>,
                       public ExecSession::Listener {
  using Base = StreamCore<ExecStreamCore<Response, Reactor>, Response, Reactor>;

 public:
  using Actions = typename Base::Actions;
  static constexpr bool kInteractive = std::is_same_v<Response, v1::AttachExecResponse>;

  // `plan` is StreamExec's; AttachExec's comes with the first message.
  ExecStreamCore(const RpcEnv& env, std::optional<ExecPlan> plan)
      : Base(env.api.engine_ptr(), "exec", &OutputMessage<Response>),
        api_(env.api),
        rules_(env.rules),
        record_(env.record),
        max_request_bytes_(env.options.max_request_bytes),
        plan_(std::move(plan)) {}

  // --- ExecSession::Listener (engine threads, mu_ not held) ---

  void OnExecStarted(const std::string& exec_id) override {
    this->Update([&] {
      started_ = true;
      Response msg;
      msg.set_exec_id(exec_id);
      this->out_.Push(std::move(msg));
    });
  }

  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override {
    this->Update([&] {
      reading_ = false;
      for (const OutputPiece& piece : pieces) {
        this->out_.Add(piece.kind, piece.data);
      }
      if (eof) {
        output_done_ = true;
      }
    });
  }

  void OnExecExited(int exit_code, const grpc::Status& output_end) override {
    this->Update([&] {
      Response msg;
      msg.mutable_exited()->set_exit_code(exit_code);
      this->out_.Push(std::move(msg));
      this->Complete(output_end);
    });
  }

  void OnExecFailed(const grpc::Status& status) override {
    this->Update([&] { this->Fail(status); });
  }

  // --- AttachExec's reads (gRPC threads) ---

  void OnReadDone(bool ok) {
    this->Update([&] {
      stdin_.ReadDone(ok);
      if (!ok) {
        if (!session_) {
          this->Fail(
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "AttachExec: the stream ended before its first message (config)"));
        }
      } else {
        HandleRequest();
      }
    });
  }

 protected:
  void Step(Actions* actions) override {  // mu_ held
    if (plan_) {
      MakeSession(std::move(*plan_));
      plan_.reset();
    }
    if (begin_pending_) {
      begin_pending_ = false;
      actions->push_back([s = session_] { s->Begin(); });
    }
    if (started_ && !output_done_ && !reading_ && this->out_.HasRoom()) {
      reading_ = true;
      actions->push_back([s = session_] { s->Read(); });
    }
    if constexpr (kInteractive) {
      StepInteractive(actions);
    }
  }

  void OnEnd(const grpc::Status& /*status*/, Actions* actions) override {  // mu_ held
    if (session_) {
      // Closes the hijacked connection at once; the process itself keeps running.
      actions->push_back([s = session_] { s->Cancel(); });
    }
  }

 private:
  void MakeSession(ExecPlan plan) {  // mu_ held
    stdin_.Configure(plan.stdin, plan.tty);
    session_ = std::make_shared<ExecSession>(api_, std::move(plan), ExitPollPolicy{},
                                             this->weak_from_this());
    begin_pending_ = true;
  }

  // What the guard does for the other RPCs, for the config that came as the first message: the
  // request size, the policy's exec rules and the audit record's target.
  grpc::Status AdmitConfig() {
    std::function<policy::Decision()> check;
    if (rules_) {
      check = [&] { return policy::CheckExec(*rules_, request_.config(), "config"); };
    }
    return AdmitFirstMessage(request_, max_request_bytes_, check, record_,
                             request_.config().container());
  }

  // One AttachExecRequest is in request_; mu_ held.
  void HandleRequest() {
    switch (request_.event_case()) {
      case v1::AttachExecRequest::kConfig: {
        if (session_) {
          return this->Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         "AttachExec: config may only be sent first"));
        }
        if (grpc::Status st = AdmitConfig(); !st.ok()) {
          return this->Fail(st);
        }
        ExecPlan plan;
        grpc::Status st = PlanExec(request_.config(), ExecMode::kAttached, &plan);
        if (!st.ok()) {
          return this->Fail(st);
        }
        MakeSession(std::move(plan));
        return;
      }
      case v1::AttachExecRequest::kStdin:
      case v1::AttachExecRequest::kCloseStdin:
      case v1::AttachExecRequest::kResize:
        if (!session_) {
          return this->Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         "AttachExec: the first message must carry config"));
        }
        break;
      case v1::AttachExecRequest::EVENT_NOT_SET:
        return;
    }
    if (grpc::Status st = stdin_.Take(&request_, "AttachExec"); !st.ok()) {
      this->Fail(st);
    }
  }

  void StepInteractive(Actions* actions) {  // mu_ held
    // The next client message is read only while the stdin not yet written stays under its
    // cap; the core counts the StartRead until it has returned.
    if (stdin_.StartRead()) {
      this->AddReactorCall(actions, [this](Reactor* r) { r->StartRead(&request_); });
    }
    if (!session_) {
      return;
    }
    if (auto size = stdin_.TakeResize()) {
      actions->push_back([s = session_, size = *size] { s->Resize(size.first, size.second); });
    }
    if (!started_) {
      return;
    }
    StdinRelay::Next next = stdin_.TakeNext();
    if (next.kind == StdinRelay::Next::Kind::kWrite) {
      actions->push_back([self = this->self(), s = session_,
                          data = std::move(next.data)]() mutable {
        size_t size = data.size();
        s->WriteStdin(std::move(data), [self, size](bool ok) { self->OnStdinWritten(ok, size); });
      });
    } else if (next.kind == StdinRelay::Next::Kind::kClose) {
      actions->push_back([self = this->self(), s = session_] {
        s->CloseStdin([self](bool ok) { self->OnStdinWritten(ok, 0); });
      });
    }
  }

  void OnStdinWritten(bool ok, size_t size) {  // engine threads
    this->Update([&] { stdin_.Written(ok, size); });
  }

  const engine::DockerApi api_;
  const std::shared_ptr<const policy::IdentityRules> rules_;
  const std::shared_ptr<calls::CallRecord> record_;
  const size_t max_request_bytes_;

  // Guarded by mu_.
  std::optional<ExecPlan> plan_;  // StreamExec's, until the first Step makes the session
  std::shared_ptr<ExecSession> session_;
  bool begin_pending_ = false;
  bool started_ = false;
  bool reading_ = false;
  bool output_done_ = false;

  // AttachExec only.
  v1::AttachExecRequest request_;  // filled by the read in flight; read in OnReadDone
  StdinRelay stdin_;
};

using StreamExecCore =
    ExecStreamCore<v1::StreamExecResponse, grpc::ServerWriteReactor<v1::StreamExecResponse>>;
using AttachExecCore =
    ExecStreamCore<v1::AttachExecResponse,
                   grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>>;

}  // namespace

grpc::ServerWriteReactor<v1::StreamExecResponse>* rpc::StreamExec(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::StreamExecRequest* request) {
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kStreamed, &plan); !st.ok()) {
    return new RejectedStream<v1::StreamExecResponse>(st);
  }
  return StartStream<StreamExecCore>(env, std::optional<ExecPlan>(std::move(plan)));
}

grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* rpc::AttachExec(
    const RpcEnv& env, grpc::CallbackServerContext*) {
  return StartStream<AttachExecCore, CoreBidiReactor<AttachExecCore>>(env, std::nullopt);
}

}  // namespace dockline::server
