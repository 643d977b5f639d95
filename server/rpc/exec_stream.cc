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
#include "server/codec/validate.h"
#include "server/policy/rules.h"
#include "server/reactor/stdin_relay.h"
#include "server/reactor/stream_core.h"
#include "server/rpc/exec_session.h"
#include "server/rpc/first_message.h"
#include "server/rpc/retained_exec.h"

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

// StreamExec over a retained exec: started by this call (retain_output) or reattached to
// (exec_id, offset). The exec's output is read by the RetainedExec, whatever the client does;
// this core is one reader of it, from its offset, while the client keeps up.
//
// Thread rules: those of StreamCore. The exec's wakes (engine threads) and the fetch's result
// change state under mu_; the exec is called (Start, Read, AddReader, RemoveReader) only from
// actions, with mu_ released, because it wakes its readers from the calling thread.
class RetainedStreamCore : public StreamCore<RetainedStreamCore, v1::StreamExecResponse> {
  using Base = StreamCore<RetainedStreamCore, v1::StreamExecResponse>;

 public:
  // A read of the buffer is at most this; the output queue splits it into messages.
  static constexpr size_t kFetchBytes = 64 * 1024;

  RetainedStreamCore(const RpcEnv& env, std::optional<ExecPlan> plan, std::string exec_id,
                     uint64_t offset)
      : Base(env.api.engine_ptr(), "exec", &OutputMessage<v1::StreamExecResponse>),
        api_(env.api),
        owner_(env.identity.name),
        registry_(env.retained),
        plan_(std::move(plan)),
        exec_id_(std::move(exec_id)),
        offset_(offset) {}

 protected:
  void Step(Actions* actions) override {  // mu_ held
    if (!begun_) {
      begun_ = true;
      if (plan_) {
        actions->push_back([self = self(), plan = std::move(*plan_)]() mutable {
          self->registry_->Start(
              self->api_, std::move(plan), self->owner_,
              [self](const grpc::Status& st, const std::string& id) { self->OnStarted(st, id); });
        });
        plan_.reset();
      } else {
        actions->push_back([self = self()] { self->Reattach(); });
      }
      return;
    }
    if (exec_ && dirty_ && !fetching_ && this->out_.HasRoom()) {
      dirty_ = false;
      fetching_ = true;
      actions->push_back([self = self(), exec = exec_, reader = reader_, offset = offset_] {
        RetainedSlice slice;
        grpc::Status st = exec->Read(reader, offset, kFetchBytes, &slice);
        self->OnFetched(st, std::move(slice));
      });
    }
  }

  void OnEnd(const grpc::Status& /*status*/, Actions* actions) override {  // mu_ held
    if (exec_) {
      // The exec goes on without this reader: its output is kept for the next.
      actions->push_back([exec = exec_, reader = reader_] { exec->RemoveReader(reader); });
    }
  }

 private:
  // Makes this a reader of `exec` from `offset`. No lock held.
  void Join(std::shared_ptr<RetainedExec> exec, uint64_t offset) {
    std::weak_ptr<RetainedStreamCore> weak = self();
    uint64_t reader = exec->AddReader(offset, [weak] {
      if (auto core = weak.lock()) {
        core->Update([&] { core->dirty_ = true; });
      }
    });
    bool leave = false;
    this->Update([&] {
      leave = this->ended();
      if (!leave) {
        exec_ = exec;
        reader_ = reader;
        dirty_ = true;
      }
    });
    if (leave) {
      exec->RemoveReader(reader);
    }
  }

  // The exec this call started; registered before this runs, and not read before it returns.
  void OnStarted(const grpc::Status& status, const std::string& exec_id) {
    std::shared_ptr<RetainedExec> exec;
    grpc::Status st = status;
    if (st.ok()) {
      st = registry_->Find(exec_id, owner_, &exec);
    }
    if (!st.ok()) {
      return this->Update([&] { this->Fail(st); });
    }
    this->Update([&] {
      v1::StreamExecResponse msg;
      msg.set_exec_id(exec_id);
      this->out_.Push(std::move(msg));
      resumed_ = true;  // the exec id told the client where it is: at 0
    });
    Join(std::move(exec), 0);
  }

  void Reattach() {
    std::shared_ptr<RetainedExec> exec;
    if (grpc::Status st = registry_->Find(exec_id_, owner_, &exec); !st.ok()) {
      return this->Update([&] { this->Fail(st); });
    }
    Join(std::move(exec), offset_);
  }

  void OnFetched(const grpc::Status& status, RetainedSlice slice) {
    this->Update([&] {
      fetching_ = false;
      if (!status.ok()) {
        return this->Fail(status);
      }
      if (!resumed_) {
        resumed_ = true;
        v1::StreamExecResponse msg;
        auto* resumed = msg.mutable_resumed();
        resumed->set_exec_id(exec_id_);
        resumed->set_offset(slice.start);
        resumed->set_lost_bytes(slice.lost);
        this->out_.Push(std::move(msg));
      }
      for (const RetainedPiece& piece : slice.pieces) {
        this->out_.Add(piece.kind, piece.data);
      }
      if (!slice.pieces.empty()) {
        dirty_ = true;  // there may be more already
      }
      offset_ = slice.next;
      if (!slice.end) {
        return;
      }
      if (!slice.exit_code) {
        return this->Fail(slice.status);
      }
      v1::StreamExecResponse msg;
      msg.mutable_exited()->set_exit_code(*slice.exit_code);
      this->out_.Push(std::move(msg));
      this->Complete(slice.status);
    });
  }

  const engine::DockerApi api_;
  const std::string owner_;
  const std::shared_ptr<RetainedExecs> registry_;

  // Guarded by mu_.
  std::optional<ExecPlan> plan_;  // until the first Step starts it
  const std::string exec_id_;     // a reattach's
  uint64_t offset_;               // where the next read starts
  bool begun_ = false;
  bool resumed_ = false;  // the first message (exec_id or resumed) is queued
  std::shared_ptr<RetainedExec> exec_;
  uint64_t reader_ = 0;
  bool dirty_ = false;  // the exec may have something past offset_
  bool fetching_ = false;
};

using StreamExecCore =
    ExecStreamCore<v1::StreamExecResponse, grpc::ServerWriteReactor<v1::StreamExecResponse>>;
using AttachExecCore =
    ExecStreamCore<v1::AttachExecResponse,
                   grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>>;

}  // namespace

grpc::ServerWriteReactor<v1::StreamExecResponse>* rpc::StreamExec(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::StreamExecRequest* request) {
  using Rejected = RejectedStream<v1::StreamExecResponse>;
  auto invalid = [](const std::string& message) {
    return new Rejected(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message));
  };
  if ((request->retain_output() || !request->exec_id().empty()) && !env.retained) {
    return new Rejected(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                     "this server keeps no exec output (retain_output)"));
  }
  if (!request->exec_id().empty()) {
    if (request->has_config()) {
      return invalid("config: not with exec_id (a reattach runs nothing new)");
    }
    if (request->retain_output()) {
      return invalid("retain_output: not with exec_id (set it when starting the exec)");
    }
    if (grpc::Status st = ValidateContainerRef("exec_id", request->exec_id()); !st.ok()) {
      return new Rejected(st);
    }
    if (env.record) {
      env.record->Update([&](calls::CallRecord& r) { r.exec_id = request->exec_id(); });
    }
    return StartStream<RetainedStreamCore>(env, std::nullopt, request->exec_id(),
                                           request->offset());
  }
  if (request->offset() != 0) {
    return invalid("offset: only with exec_id (a reattach)");
  }
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kStreamed, &plan); !st.ok()) {
    return new Rejected(st);
  }
  if (request->retain_output()) {
    return StartStream<RetainedStreamCore>(env, std::optional<ExecPlan>(std::move(plan)),
                                           std::string(), 0);
  }
  return StartStream<StreamExecCore>(env, std::optional<ExecPlan>(std::move(plan)));
}

grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* rpc::AttachExec(
    const RpcEnv& env, grpc::CallbackServerContext*) {
  return StartStream<AttachExecCore, CoreBidiReactor<AttachExecCore>>(env, std::nullopt);
}

}  // namespace dockline::server
