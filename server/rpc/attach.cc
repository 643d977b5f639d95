#include "server/rpc/attach.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/codec/attach_codec.h"
#include "server/codec/exec_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/output_chunk.h"
#include "server/policy/rules.h"
#include "server/reactor/stdin_relay.h"
#include "server/reactor/stream_core.h"
#include "server/rpc/first_message.h"

namespace dockline::server {
namespace {

using Request = v1::AttachContainerRequest;
using Response = v1::AttachContainerResponse;
using Reactor = grpc::ServerBidiReactor<Request, Response>;

// How long one of the attach's two ends (its EOF, the wait's exit code) may come after the
// other. The daemon closes the attached streams just before it records the exit, so the gap is
// normally a few milliseconds; past this an EOF without an exit is a detach (the detach keys,
// or the process closing its output), and an exit without an EOF is an attach that came too late
// to see the streams it was waiting for.
constexpr std::chrono::milliseconds kSettle{2000};

// One AttachContainer call on the stream core.
//
// Order: the config (first message: size, policy and audit as the guard does for other RPCs,
// then validation); inspect (full id, TTY, OpenStdin, running); register the wait (its header
// means no exit can be missed: next-exit when this call starts the container, not-running
// otherwise); attach, hijacked; start when asked (so the first output is not missed, as
// docker run does); then output until EOF and the exit code from the wait. Stdin, its close and
// resizes come from the client at any time after the config; stdin goes once the connection is
// hijacked, resizes once the container runs.
//
// Thread rules: those of StreamCore. Engine callbacks and gRPC reactions change state under mu_
// and drive; engine calls and body reads/writes are made from actions, mu_ released.
class AttachCore : public StreamCore<AttachCore, Response, Reactor> {
  using Base = StreamCore<AttachCore, Response, Reactor>;

 public:
  explicit AttachCore(const RpcEnv& env)
      : Base(env.api.engine_ptr(), "attach", &OutputMessage<Response>),
        api_(env.api),
        identity_(env.identity.name),
        rules_(env.rules),
        record_(env.record),
        max_request_bytes_(env.options.max_request_bytes) {}

  void OnReadDone(bool ok) {  // gRPC threads
    Update([&] {
      stdin_.ReadDone(ok);
      if (!ok) {
        if (phase_ == Phase::kAwaitConfig) {
          Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "AttachContainer: the stream ended before its first message (config)"));
        }
        return;
      }
      HandleRequest();
    });
  }

 protected:
  void Step(Actions* actions) override;
  void OnEnd(const grpc::Status& status, Actions* actions) override;

 private:
  enum class Phase { kAwaitConfig, kInspecting, kWaiting, kAttaching, kStarting, kRunning };

  void HandleRequest();               // mu_ held
  grpc::Status AdmitConfig();         // mu_ held
  void StepOutput(Actions* actions);  // mu_ held
  void StepStdin(Actions* actions);   // mu_ held
  void Finished(Actions* actions);    // mu_ held: both ends are in, or one has settled

  void DoInspect();
  void OnInspected(engine::Result<engine::ContainerDocument> res);
  void DoWait();
  void DoAttach();
  void DoStart();
  void DoResize(std::pair<uint32_t, uint32_t> size);
  void ReadOutput(std::shared_ptr<engine::BodyStream> body);
  void DoSettle();
  void CheckDetached();
  void Keep(std::shared_ptr<engine::Call> call);

  const engine::DockerApi api_;
  const std::string identity_;
  const std::shared_ptr<const policy::IdentityRules> rules_;
  const std::shared_ptr<calls::CallRecord> record_;
  const size_t max_request_bytes_;

  // Guarded by mu_.
  Request request_;  // filled by the read in flight; read in OnReadDone
  StdinRelay stdin_;
  Phase phase_ = Phase::kAwaitConfig;
  bool step_started_ = false;
  v1::AttachConfig config_;
  engine::AttachQuery query_;
  std::optional<ExecOutputDecoder> decoder_;
  std::string id_;
  bool tty_ = false;
  bool running_ = false;  // at inspect; then: the container runs (resizes may go)
  std::vector<std::shared_ptr<engine::Call>> calls_;  // what OnEnd cancels
  std::shared_ptr<engine::BodyStream> body_;
  bool reading_ = false;
  bool output_done_ = false;
  grpc::Status output_end_;  // DATA_LOSS when the daemon cut a frame
  bool wait_done_ = false;
  int64_t exit_code_ = 0;
  std::string wait_error_;
  bool settle_armed_ = false;
  bool settled_ = false;  // the settle time passed with one end still missing
  bool checking_detach_ = false;
  bool detached_ = false;
  bool resizing_ = false;
};

grpc::Status AttachCore::AdmitConfig() {
  Request first;
  *first.mutable_config() = config_;
  std::function<policy::Decision()> check;
  if (rules_) {
    check = [&] { return policy::CheckAttach(*rules_, identity_, config_, "config"); };
  }
  // Writing to a container's stdin changes it: audited like the operate group.
  return AdmitFirstMessage(first, max_request_bytes_, check, record_, config_.container(),
                           config_.stdin());
}

void AttachCore::HandleRequest() {
  if (request_.has_config()) {
    if (phase_ != Phase::kAwaitConfig) {
      return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "AttachContainer: config may only be sent first"));
    }
    config_ = std::move(*request_.mutable_config());
    if (grpc::Status st = AdmitConfig(); !st.ok()) {
      return Fail(st);
    }
    if (grpc::Status st = PlanAttach(config_, &query_); !st.ok()) {
      return Fail(st);
    }
    // Whether there is a TTY to resize is known after the inspect; until then resizes are kept.
    stdin_.Configure(config_.stdin(), true);
    phase_ = Phase::kInspecting;
    step_started_ = false;
    return;
  }
  if (request_.event_case() == Request::EVENT_NOT_SET) {
    return;
  }
  if (phase_ == Phase::kAwaitConfig) {
    return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "AttachContainer: the first message must carry config"));
  }
  if (grpc::Status st = stdin_.Take(&request_, "AttachContainer"); !st.ok()) {
    return Fail(st);
  }
}

void AttachCore::Step(Actions* actions) {
  if (stdin_.StartRead()) {
    AddReactorCall(actions, [this](Reactor* r) { r->StartRead(&request_); });
  }
  if (!step_started_) {
    step_started_ = true;
    switch (phase_) {
      case Phase::kAwaitConfig:
        step_started_ = false;
        break;
      case Phase::kInspecting:
        actions->push_back([self = self()] { self->DoInspect(); });
        break;
      case Phase::kWaiting:
        actions->push_back([self = self()] { self->DoWait(); });
        break;
      case Phase::kAttaching:
        actions->push_back([self = self()] { self->DoAttach(); });
        break;
      case Phase::kStarting:
        actions->push_back([self = self()] { self->DoStart(); });
        break;
      case Phase::kRunning:
        break;
    }
  }
  if (body_ || output_done_) {
    StepOutput(actions);
    StepStdin(actions);
  }
  if (running_ && !resizing_) {
    if (auto size = stdin_.TakeResize()) {
      resizing_ = true;
      actions->push_back([self = self(), size = *size] { self->DoResize(size); });
    }
  }
}

void AttachCore::StepOutput(Actions* actions) {
  if (body_ && !output_done_ && !reading_ && out_.HasRoom()) {
    reading_ = true;
    actions->push_back([self = self(), body = body_] { self->ReadOutput(body); });
  }
  if ((output_done_ && wait_done_) || detached_ || (settled_ && wait_done_)) {
    return Finished(actions);
  }
  if ((output_done_ || wait_done_) && !settle_armed_) {
    settle_armed_ = true;
    actions->push_back([self = self()] { self->DoSettle(); });
  }
  if (settled_ && output_done_ && !wait_done_ && !checking_detach_) {
    checking_detach_ = true;
    actions->push_back([self = self()] { self->CheckDetached(); });
  }
}

void AttachCore::Finished(Actions* actions) {
  if (body_) {
    actions->push_back([body = body_] { body->Cancel(); });
    body_ = nullptr;
  }
  Response msg;
  if (detached_) {
    msg.mutable_detached();
  } else {
    msg.mutable_exited()->set_exit_code(static_cast<int32_t>(exit_code_));
    msg.mutable_exited()->set_error(wait_error_);
  }
  out_.Push(std::move(msg));
  Complete(detached_ ? grpc::Status::OK : output_end_);
}

void AttachCore::StepStdin(Actions* actions) {
  if (!body_) {
    return;
  }
  StdinRelay::Next next = stdin_.TakeNext();
  auto written = [self = self()](size_t size) {
    return [self, size](const engine::Status& st) {
      self->Update([&] { self->stdin_.Written(st.ok(), size); });
    };
  };
  if (next.kind == StdinRelay::Next::Kind::kWrite) {
    size_t size = next.data.size();
    actions->push_back([body = body_, data = std::move(next.data), done = written(size)]() mutable {
      body->Write(std::move(data), std::move(done));
    });
  } else if (next.kind == StdinRelay::Next::Kind::kClose) {
    actions->push_back([body = body_, done = written(0)] { body->CloseWrite(done); });
  }
}

void AttachCore::OnEnd(const grpc::Status& /*status*/, Actions* actions) {
  // Closes the hijacked connection at once; the container keeps running.
  std::vector<std::shared_ptr<engine::Call>> calls = std::move(calls_);
  if (body_) {
    calls.push_back(body_);
    body_ = nullptr;
  }
  for (auto& call : calls) {
    if (call) {
      actions->push_back([call] { call->Cancel(); });
    }
  }
}

// Each engine call is kept for OnEnd; one made after the call ended is cancelled at once.
void AttachCore::Keep(std::shared_ptr<engine::Call> call) {
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel = ended();
    if (!cancel) {
      calls_.push_back(call);
    }
  }
  if (cancel && call) {
    call->Cancel();
  }
}

void AttachCore::DoInspect() {
  Keep(api_.InspectContainer(config_.container(),
                             [self = self()](engine::Result<engine::ContainerDocument> r) {
                               self->OnInspected(std::move(r));
                             }));
}

void AttachCore::OnInspected(engine::Result<engine::ContainerDocument> res) {
  Update([&] {
    if (ended()) {
      return;
    }
    if (!res.ok()) {
      return Fail(ToGrpcStatus(res.status()));
    }
    const engine::Json& doc = res->json;
    const engine::Json* config = engine::Member(doc, "Config");
    const engine::Json* state = engine::Member(doc, "State");
    id_ = engine::GetString(doc, "Id");
    tty_ = config != nullptr && engine::GetBool(*config, "Tty");
    running_ = state != nullptr && engine::GetBool(*state, "Running");
    const bool open_stdin = config != nullptr && engine::GetBool(*config, "OpenStdin");
    if (id_.empty()) {
      return Fail(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect has no Id"));
    }
    if (config_.stdin() && !open_stdin) {
      return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               "config.stdin: container " + config_.container() +
                                   " was created without stdin_open, so it has no stdin to "
                                   "attach to"));
    }
    if (!running_ && !config_.start()) {
      return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               "container " + config_.container() +
                                   " is not running: start it first, or set config.start"));
    }
    if (state != nullptr && engine::GetBool(*state, "Paused")) {
      return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               "container " + config_.container() + " is paused"));
    }
    if (!tty_) {
      stdin_.Configure(config_.stdin(), false);
      stdin_.TakeResize();  // nothing to resize
    }
    const bool want_stdout = !config_.has_stdout() || config_.stdout();
    const bool want_stderr = !config_.has_stderr() || config_.stderr();
    // A TTY merges both into one stream, which the daemon sends as stdout.
    decoder_.emplace(tty_, want_stdout || (tty_ && want_stderr), want_stderr);
    phase_ = Phase::kWaiting;
    step_started_ = false;
  });
}

void AttachCore::DoWait() {
  // The exit this call reports: the next one when it starts the container, else the current
  // run's end (at once if it has already ended).
  std::string condition = running_ ? "not-running" : "next-exit";
  auto self = this->self();
  Keep(api_.WaitContainer(
      id_, condition, std::chrono::milliseconds(0),
      [self] {
        self->Update([&] {
          self->phase_ = Phase::kAttaching;
          self->step_started_ = false;
        });
      },
      [self](engine::Result<engine::ExitStatus> res) {
        self->Update([&] {
          if (self->ended()) {
            return;  // OnEnd cancelled it (a detach, a failure): nothing to tell
          }
          if (!res.ok()) {
            return self->Fail(ToGrpcStatus(res.status()));
          }
          self->wait_done_ = true;
          self->exit_code_ = res->exit_code;
          self->wait_error_ = res->error;
        });
      }));
}

void AttachCore::DoAttach() {
  Keep(api_.AttachContainer(
      id_, query_,
      OnBodyOpened([this](std::shared_ptr<engine::BodyStream> body) {  // mu_ held
        body_ = std::move(body);
        Response msg;
        msg.mutable_attached()->set_id(id_);
        msg.mutable_attached()->set_tty(tty_);
        out_.Push(std::move(msg));
        phase_ = running_ ? Phase::kRunning : Phase::kStarting;
        step_started_ = false;
      })));
}

void AttachCore::DoStart() {
  Keep(api_.StartContainer(id_, [self = self()](const engine::Status& st) {
    self->Update([&] {
      if (self->ended()) {
        return;
      }
      if (!st.ok()) {
        return self->Fail(ToGrpcStatus(st));
      }
      self->running_ = true;
      self->phase_ = Phase::kRunning;
    });
  }));
}

void AttachCore::DoResize(std::pair<uint32_t, uint32_t> size) {
  // A resize racing the exit fails; nothing the client could do about it, so it is dropped.
  Keep(api_.ResizeContainer(id_, size.first, size.second, [self = self()](const engine::Status&) {
    self->Update([&] { self->resizing_ = false; });
  }));
}

void AttachCore::ReadOutput(std::shared_ptr<engine::BodyStream> body) {
  body->Read([self = self()](const engine::Status& st, std::string_view data, bool eof) {
    self->Update([&] {
      self->reading_ = false;
      if (self->ended() || !self->decoder_) {
        return;
      }
      if (!st.ok()) {
        return self->Fail(ToGrpcStatus(st));
      }
      std::vector<OutputPiece> pieces;
      if (engine::Status decoded = self->decoder_->Feed(data, &pieces); !decoded.ok()) {
        return self->Fail(ToGrpcStatus(decoded));
      }
      for (const OutputPiece& piece : pieces) {
        self->out_.Add(piece.kind, piece.data);
      }
      if (eof) {
        self->output_done_ = true;
        self->output_end_ = ToGrpcStatus(self->decoder_->Finish());
        self->body_ = nullptr;
      }
    });
  });
}

void AttachCore::CheckDetached() {
  Keep(api_.InspectContainer(id_, [self = self()](engine::Result<engine::ContainerDocument> r) {
    self->Update([&] {
      if (self->ended()) {
        return;
      }
      if (!r.ok()) {
        return self->Fail(ToGrpcStatus(r.status()));
      }
      // Still running: the daemon let go of this client (the detach keys); otherwise the exit
      // code is on its way.
      const engine::Json* state = engine::Member(r->json, "State");
      self->detached_ = state != nullptr && engine::GetBool(*state, "Running");
    });
  }));
}

void AttachCore::DoSettle() {
  Keep(api_.engine().Schedule(kSettle, [weak = weak_from_this()](bool cancelled) {
    if (auto self = weak.lock(); self && !cancelled) {
      self->Update([&] { self->settled_ = true; });
    }
  }));
}

}  // namespace

grpc::ServerBidiReactor<v1::AttachContainerRequest, v1::AttachContainerResponse>*
rpc::AttachContainer(const RpcEnv& env, grpc::CallbackServerContext*) {
  return StartStream<AttachCore, CoreBidiReactor<AttachCore>>(env);
}

}  // namespace dockline::server
