#include "server/rpc/exec_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "server/codec/json_util.h"
#include "server/codec/status_map.h"

namespace dockline::server {

using engine::ApiResponse;
using engine::Result;

ExecSession::ExecSession(engine::DockerApi api, ExecPlan plan, ExitPollPolicy poll,
                         std::weak_ptr<Listener> listener)
    : api_(std::move(api)),
      plan_(std::move(plan)),
      poll_(poll),
      listener_(std::move(listener)),
      decoder_(plan_.tty, plan_.deliver_stdout, plan_.deliver_stderr) {}

ExecSession::ExecSession(std::shared_ptr<engine::Engine> engine, ExecPlan plan, Options options,
                         std::weak_ptr<Listener> listener)
    : ExecSession(engine::DockerApi(std::move(engine), options.unary_timeout), std::move(plan),
                  options.poll, std::move(listener)) {}

ExecSession::~ExecSession() {
  // Engine calls in flight hold the session, so what is left here is at most a retry timer
  // (which holds it weakly): let it go now rather than when it fires.
  if (step_call_) {
    step_call_->Cancel();
  }
}

uint64_t ExecSession::NextStep() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_ || done_) {
    return 0;
  }
  step_call_ = nullptr;
  return ++step_;
}

// The callback of `call` may already have run (and started the next step) by the time this
// is called; the step number keeps a finished call from replacing the current one.
void ExecSession::Track(uint64_t step, std::shared_ptr<engine::Call> call) {
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (step == step_) {
      step_call_ = call;
    }
    cancel = cancelled_;
  }
  if (cancel && call) {
    call->Cancel();
  }
}

std::shared_ptr<ExecSession::Listener> ExecSession::ListenerIfLive() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) {
      return nullptr;
    }
  }
  return listener_.lock();
}

std::shared_ptr<ExecSession::Listener> ExecSession::End() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || cancelled_) {
      return nullptr;
    }
    done_ = true;
  }
  return listener_.lock();
}

void ExecSession::Fail(grpc::Status status) {
  if (auto listener = End()) {
    listener->OnExecFailed(status);
  }
}

void ExecSession::Begin() {
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  Track(step, api_.CreateExec(plan_.container, plan_.create_body,
                              [self = shared_from_this()](Result<std::string> res) {
                                self->OnCreated(std::move(res));
                              }));
}

void ExecSession::OnCreated(Result<std::string> res) {
  if (!res.ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  const std::string id = res.value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = id;
  }
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  if (plan_.detach) {
    Track(step, api_.StartExecDetached(id, plan_.tty,
                                       [self = shared_from_this(), id](const engine::Status& st) {
                                         if (!st.ok()) {
                                           return self->Fail(ToGrpcStatus(st));
                                         }
                                         // A detached session ends once started.
                                         if (auto listener = self->End()) {
                                           listener->OnExecStarted(id);
                                         }
                                       }));
    return;
  }
  // No deadline: the stream lasts as long as the process; the client's cancel closes it.
  Track(step, api_.StartExecAttached(
                  id, plan_.tty,
                  [self = shared_from_this()](Result<ApiResponse> res,
                                              std::shared_ptr<engine::BodyStream> body) {
                    self->OnStartStream(std::move(res), std::move(body));
                  }));
}

void ExecSession::OnStartStream(Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
  if (!res.status().ok() || !body) {
    return Fail(ToGrpcStatus(res.status().ok() ? engine::Status(engine::Code::kProtocolError,
                                                                "exec start gave no stream")
                                               : res.status()));
  }
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) {
      body->Cancel();
      return;
    }
    started_ = true;
    body_ = body;
    id = id_;
  }
  if (auto listener = ListenerIfLive()) {
    listener->OnExecStarted(id);
  }
  DriveResize();
}

void ExecSession::Read() {
  std::shared_ptr<engine::BodyStream> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || done_ || eof_ || !body_) {
      return;
    }
    body = body_;
  }
  body->Read([self = shared_from_this()](const engine::Status& st, std::string_view data,
                                         bool eof) { self->OnRead(st, data, eof); });
}

void ExecSession::OnRead(const engine::Status& status, std::string_view data, bool eof) {
  if (!status.ok()) {
    return Fail(ToGrpcStatus(status));
  }
  std::vector<OutputPiece> pieces;
  engine::Status decoded = decoder_.Feed(data, &pieces);
  if (!decoded.ok()) {
    std::shared_ptr<engine::BodyStream> body;
    {
      std::lock_guard<std::mutex> lock(mu_);
      body = std::move(body_);
    }
    if (body) {
      body->Cancel();
    }
    return Fail(ToGrpcStatus(decoded));
  }
  if (eof) {
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    body_ = nullptr;
    poll_started_ = std::chrono::steady_clock::now();
    next_delay_ = poll_.first_delay;
    output_end_ = ToGrpcStatus(decoder_.Finish());
  }
  if (auto listener = ListenerIfLive()) {
    listener->OnExecOutput(pieces, eof);
  }
  if (eof) {
    PollExit();
  }
}

void ExecSession::PollExit() {
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = id_;
  }
  Track(step, api_.InspectExec(id, [self = shared_from_this()](Result<engine::Json> res) {
    self->OnPolled(std::move(res));
  }));
}

void ExecSession::OnPolled(Result<engine::Json> res) {
  if (!res.ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  const engine::Json& j = res.value();
  const auto* code = Member(j, "ExitCode");
  if (!GetBool(j, "Running") && code != nullptr && code->is_number()) {
    grpc::Status output_end;
    {
      std::lock_guard<std::mutex> lock(mu_);
      output_end = output_end_;
    }
    if (auto listener = End()) {
      listener->OnExecExited(static_cast<int>(GetInt(j, "ExitCode")), output_end);
    }
    return;
  }
  std::chrono::milliseconds delay;
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto waited = std::chrono::steady_clock::now() - poll_started_;
    id = id_;
    if (waited >= poll_.total) {
      delay = std::chrono::milliseconds(-1);
    } else {
      delay = next_delay_;
      next_delay_ = std::min(next_delay_ * 2, poll_.max_delay);
    }
  }
  if (delay.count() < 0) {
    return Fail(grpc::Status(
        grpc::StatusCode::INTERNAL,
        "exec " + id + ": the output ended but the daemon still reports no exit code after " +
            std::to_string(poll_.total.count()) + " ms; ask InspectExec later"));
  }
  ScheduleRetry(delay);
}

// The wait is a step of its own, so Cancel() stops it like any engine call. The timer holds
// the session weakly: a session nobody holds any more stops polling.
void ExecSession::ScheduleRetry(std::chrono::milliseconds delay) {
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  std::weak_ptr<ExecSession> weak = weak_from_this();
  Track(step, api_.engine().Schedule(delay, [weak](bool cancelled) {
    if (auto self = weak.lock(); self && !cancelled) {
      self->PollExit();
    }
  }));
}

std::shared_ptr<engine::BodyStream> ExecSession::LiveBody() {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_ ? nullptr : body_;
}

void ExecSession::WriteStdin(std::string data, std::function<void(bool ok)> done) {
  std::shared_ptr<engine::BodyStream> body = LiveBody();
  if (!body) {
    return done(false);
  }
  body->Write(std::move(data),
              [done = std::move(done)](const engine::Status& st) { done(st.ok()); });
}

void ExecSession::CloseStdin(std::function<void(bool ok)> done) {
  std::shared_ptr<engine::BodyStream> body = LiveBody();
  if (!body) {
    return done(false);
  }
  body->CloseWrite([done = std::move(done)](const engine::Status& st) { done(st.ok()); });
}

void ExecSession::Resize(uint32_t rows, uint32_t columns) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_resize_ = std::make_pair(rows, columns);
  }
  DriveResize();
}

void ExecSession::DriveResize() {
  std::pair<uint32_t, uint32_t> size;
  std::string id;
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || resizing_ || !pending_resize_ || cancelled_ || done_ || eof_) {
      return;
    }
    size = *pending_resize_;
    pending_resize_.reset();
    resizing_ = true;
    gen = ++resize_gen_;
    id = id_;
  }
  auto call = api_.ResizeExec(id, size.first, size.second,
                              [self = shared_from_this(), id, gen](const engine::Status& st) {
                                if (!st.ok()) {
                                  // A resize racing the exit gets 404; nothing the client could do
                                  // about either.
                                  spdlog::debug("exec {}: resize: {}", id, st.message());
                                }
                                {
                                  std::lock_guard<std::mutex> lock(self->mu_);
                                  if (gen == self->resize_gen_) {
                                    self->resizing_ = false;
                                    self->resize_call_ = nullptr;
                                  }
                                }
                                self->DriveResize();
                              });
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (gen == resize_gen_ && resizing_) {
      resize_call_ = call;
    }
    cancel = cancelled_;
  }
  if (cancel) {
    call->Cancel();
  }
}

void ExecSession::Cancel() {
  std::vector<std::shared_ptr<engine::Call>> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) {
      return;
    }
    cancelled_ = true;
    calls = {step_call_, body_, resize_call_};
    body_ = nullptr;
  }
  for (auto& call : calls) {
    if (call) {
      call->Cancel();
    }
  }
}

}  // namespace dockline::server
