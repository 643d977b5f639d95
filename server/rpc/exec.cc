#include "server/rpc/exec.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/legacy_call_reactor.h"

namespace dockline::server {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using engine::StreamKind;

namespace {

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

std::string ExecPath(const std::string& id, std::string_view suffix) {
  return "/exec/" + EscapePathSegment(id) + std::string(suffix);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Plan, inspect, decoding, capture

grpc::Status PlanExec(const v1::ExecConfig& config, ExecMode mode, ExecPlan* plan) {
  if (grpc::Status st = ValidateContainerRef("config.container", config.container()); !st.ok()) {
    return st;
  }
  if (config.cmd().empty()) {
    return Invalid("config.cmd: must not be empty (the command to run, as argv)");
  }
  if (config.cmd(0).empty()) {
    return Invalid("config.cmd[0]: must not be empty");
  }
  for (int i = 0; i < config.cmd_size(); ++i) {
    if (config.cmd(i).find('\0') != std::string::npos) {
      return Invalid("config.cmd[" + std::to_string(i) + "]: must not contain NUL bytes");
    }
  }
  for (int i = 0; i < config.env_size(); ++i) {
    const std::string& entry = config.env(i);
    // "KEY" alone is passed on: the daemon then removes KEY from the exec's environment.
    if (entry.empty() || entry[0] == '=' || entry.find('\0') != std::string::npos) {
      return Invalid("config.env[" + std::to_string(i) + "]: want KEY=value, got \"" + entry +
                     "\"");
    }
  }
  if (config.stdin() && mode != ExecMode::kAttached) {
    return Invalid("config.stdin: only AttachExec can feed stdin");
  }

  ExecPlan out;
  out.container = config.container();
  out.tty = config.tty();
  out.detach = mode == ExecMode::kDetached;
  out.stdin = config.stdin() && mode == ExecMode::kAttached;
  const bool want_stdout = !config.has_stdout() || config.stdout();
  const bool want_stderr = !config.has_stderr() || config.stderr();
  if (out.tty) {
    // A TTY merges both into one stream, which the daemon sends as stdout.
    out.deliver_stdout = want_stdout || want_stderr;
    out.deliver_stderr = false;
  } else {
    out.deliver_stdout = want_stdout;
    out.deliver_stderr = want_stderr;
  }
  bool attach_stdout = out.tty || want_stdout || !want_stderr;
  bool attach_stderr = !out.tty && want_stderr;
  if (out.detach) {
    // A detached start attaches nothing; asking for streams would only confuse the inspect.
    attach_stdout = false;
    attach_stderr = false;
  }

  nlohmann::json body = {
      {"AttachStdin", out.stdin},          {"AttachStdout", attach_stdout},
      {"AttachStderr", attach_stderr},     {"Tty", out.tty},
      {"Privileged", config.privileged()}, {"User", config.user()},
      {"Cmd", nlohmann::json::array()},
  };
  for (const std::string& arg : config.cmd()) {
    body["Cmd"].push_back(arg);
  }
  if (config.env_size() > 0) {
    body["Env"] = nlohmann::json::array();
    for (const std::string& entry : config.env()) {
      body["Env"].push_back(entry);
    }
  }
  if (!config.workdir().empty()) {
    body["WorkingDir"] = config.workdir();
  }
  out.create_body = std::move(body);
  *plan = std::move(out);
  return grpc::Status::OK;
}

bool ExecInspectFromJson(const nlohmann::json& j, v1::InspectExecResponse* out) {
  if (!j.is_object() || GetString(j, "ID").empty()) {
    return false;
  }
  out->set_exec_id(GetString(j, "ID"));
  out->set_container_id(GetString(j, "ContainerID"));
  out->set_running(GetBool(j, "Running"));
  if (const auto* code = Member(j, "ExitCode"); code != nullptr && code->is_number()) {
    out->set_exit_code(static_cast<int32_t>(GetInt(j, "ExitCode")));
  }
  out->set_pid(GetInt(j, "Pid"));
  if (const auto* process = Member(j, "ProcessConfig"); process != nullptr) {
    std::string entrypoint = GetString(*process, "entrypoint");
    if (!entrypoint.empty()) {
      out->add_cmd(entrypoint);
    }
    if (const auto* args = Member(*process, "arguments"); args != nullptr && args->is_array()) {
      for (const auto& arg : *args) {
        if (arg.is_string()) {
          out->add_cmd(arg.get<std::string>());
        }
      }
    }
    out->set_tty(GetBool(*process, "tty"));
    out->set_privileged(GetBool(*process, "privileged"));
    out->set_user(GetString(*process, "user"));
  }
  return true;
}

ExecOutputDecoder::ExecOutputDecoder(bool tty, bool deliver_stdout, bool deliver_stderr)
    : tty_(tty), deliver_stdout_(deliver_stdout), deliver_stderr_(deliver_stderr) {}

engine::Status ExecOutputDecoder::Feed(std::string_view bytes, std::vector<OutputPiece>* pieces) {
  if (tty_) {
    if (deliver_stdout_ && !bytes.empty()) {
      pieces->push_back(OutputPiece{StreamKind::kStdout, bytes});
    }
    return engine::Status::Ok();
  }
  return demux_.Feed(bytes, [this, pieces](StreamKind kind, std::string_view payload) {
    switch (kind) {
      case StreamKind::kStdout:
        if (deliver_stdout_) {
          pieces->push_back(OutputPiece{StreamKind::kStdout, payload});
        }
        break;
      case StreamKind::kStderr:
        if (deliver_stderr_) {
          pieces->push_back(OutputPiece{StreamKind::kStderr, payload});
        }
        break;
      case StreamKind::kSystemErr:
        // The daemon's own error text: never dropped while some stream is relayed.
        if (deliver_stderr_ || deliver_stdout_) {
          pieces->push_back(
              OutputPiece{deliver_stderr_ ? StreamKind::kStderr : StreamKind::kStdout, payload});
        }
        break;
      case StreamKind::kStdin:
        break;
    }
  });
}

void CapturedOutput::Add(StreamKind kind, std::string_view data) {
  size_t& kept = kind == StreamKind::kStderr ? stderr_kept_ : stdout_kept_;
  size_t room = cap_ > kept ? cap_ - kept : 0;
  if (data.size() > room) {
    truncated_ = true;
    data = data.substr(0, room);
  }
  if (data.empty()) {
    return;
  }
  kept += data.size();
  if (!demux_) {
    output_.append(data);
  } else if (kind == StreamKind::kStderr) {
    stderr_.append(data);
  } else {
    stdout_.append(data);
  }
}

void CapturedOutput::MoveTo(v1::ExecContainerResponse* response) {
  if (demux_) {
    response->set_stdout(std::move(stdout_));
    response->set_stderr(std::move(stderr_));
  } else {
    response->set_output(std::move(output_));
  }
  response->set_truncated(truncated_);
}

// ---------------------------------------------------------------------------------------------
// ExecSession

ExecSession::ExecSession(std::shared_ptr<engine::Engine> engine, ExecPlan plan, Options options,
                         std::weak_ptr<Listener> listener)
    : engine_(std::move(engine)),
      plan_(std::move(plan)),
      options_(options),
      listener_(std::move(listener)),
      decoder_(plan_.tty, plan_.deliver_stdout, plan_.deliver_stderr) {}

ExecSession::~ExecSession() {
  std::lock_guard<std::mutex> lock(alarm_mu_);
  if (alarm_) {
    alarm_->Cancel();
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

void ExecSession::Fail(grpc::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || cancelled_) {
      return;
    }
    done_ = true;
  }
  if (auto listener = listener_.lock()) {
    listener->OnExecFailed(status);
  }
}

void ExecSession::Begin() {
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  ApiRequest req("POST", "/containers/" + EscapePathSegment(plan_.container) + "/exec");
  req.body = plan_.create_body.dump();
  req.timeout = options_.unary_timeout;
  Track(step, engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    self->OnCreated(std::move(res));
  }));
}

void ExecSession::OnCreated(Result<ApiResponse> res) {
  if (!res.status().ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  std::string id = GetString(j, "Id");
  if (id.empty()) {
    return Fail(
        grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's exec create reply has no Id"));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = id;
  }
  uint64_t step = NextStep();
  if (step == 0) {
    return;
  }
  ApiRequest req("POST", ExecPath(id, "/start"));
  req.body = nlohmann::json{{"Detach", plan_.detach}, {"Tty", plan_.tty}}.dump();
  if (plan_.detach) {
    req.timeout = options_.unary_timeout;
    Track(step,
          engine_->Unary(std::move(req), [self = shared_from_this(), id](Result<ApiResponse> res) {
            if (!res.status().ok()) {
              return self->Fail(ToGrpcStatus(res.status()));
            }
            {
              std::lock_guard<std::mutex> lock(self->mu_);
              if (self->done_ || self->cancelled_) {
                return;
              }
              self->done_ = true;
              self->started_ = true;
            }
            if (auto listener = self->listener_.lock()) {
              listener->OnExecStarted(id);
            }
          }));
    return;
  }
  // No deadline: the stream lasts as long as the process; the client's cancel closes it.
  req.upgrade = true;
  Track(step, engine_->Stream(std::move(req), [self = shared_from_this()](
                                                  Result<ApiResponse> res,
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
    next_delay_ = options_.poll.first_delay;
  }
  if (eof && !decoder_.AtFrameBoundary()) {
    spdlog::warn("exec {}: the daemon ended the output in the middle of a frame", id_);
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
  ApiRequest req("GET", ExecPath(id, "/json"));
  req.timeout = options_.unary_timeout;
  Track(step, engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    self->OnPolled(std::move(res));
  }));
}

void ExecSession::OnPolled(Result<ApiResponse> res) {
  if (!res.status().ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  const auto* code = Member(j, "ExitCode");
  if (!j.is_object()) {
    return Fail(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's exec inspect is not JSON"));
  }
  if (!GetBool(j, "Running") && code != nullptr && code->is_number()) {
    int exit_code = static_cast<int>(GetInt(j, "ExitCode"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || cancelled_) {
        return;
      }
      done_ = true;
    }
    if (auto listener = listener_.lock()) {
      listener->OnExecExited(exit_code);
    }
    return;
  }
  std::chrono::milliseconds delay;
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto waited = std::chrono::steady_clock::now() - poll_started_;
    id = id_;
    if (waited >= options_.poll.total) {
      delay = std::chrono::milliseconds(-1);
    } else {
      delay = next_delay_;
      next_delay_ = std::min(next_delay_ * 2, options_.poll.max_delay);
    }
  }
  if (delay.count() < 0) {
    return Fail(grpc::Status(
        grpc::StatusCode::INTERNAL,
        "exec " + id + ": the output ended but the daemon still reports no exit code after " +
            std::to_string(options_.poll.total.count()) + " ms; ask InspectExec later"));
  }
  ScheduleRetry(delay);
}

void ExecSession::ScheduleRetry(std::chrono::milliseconds delay) {
  std::weak_ptr<ExecSession> weak = weak_from_this();
  std::lock_guard<std::mutex> lock(alarm_mu_);
  // The previous alarm has fired (its callback ran PollExit, whose reply brought us here).
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(std::chrono::system_clock::now() + delay, [weak](bool fired) {
    if (auto self = weak.lock(); self && fired) {
      self->PollExit();
    }
  });
}

void ExecSession::WriteStdin(std::string data, std::function<void(bool ok)> done) {
  std::shared_ptr<engine::BodyStream> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      body = body_;
    }
  }
  if (!body) {
    return done(false);
  }
  body->Write(std::move(data),
              [done = std::move(done)](const engine::Status& st) { done(st.ok()); });
}

void ExecSession::CloseStdin(std::function<void(bool ok)> done) {
  std::shared_ptr<engine::BodyStream> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      body = body_;
    }
  }
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
  ApiRequest req("POST", ExecPath(id, "/resize"));
  req.Query("h", std::to_string(size.first)).Query("w", std::to_string(size.second));
  req.timeout = options_.unary_timeout;
  auto call =
      engine_->Unary(std::move(req), [self = shared_from_this(), id, gen](Result<ApiResponse> res) {
        if (!res.status().ok()) {
          // A resize racing the exit gets 404; nothing the client could do about either.
          spdlog::debug("exec {}: resize: {}", id, res.status().message());
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
  std::lock_guard<std::mutex> lock(alarm_mu_);
  if (alarm_) {
    alarm_->Cancel();
  }
}

// ---------------------------------------------------------------------------------------------
// Unary RPCs: ExecContainer (captured), StartExec (detached), InspectExec

namespace {

class UnaryExecReactor;

// ExecContainer and StartExec: one session, one reply. Session callbacks (engine threads) and
// OnCancel (a gRPC thread) meet under mu_; Finish is called exactly once, after mu_ is
// released, and the response is written only by the thread that decided to finish.
class UnaryExecCore : public ExecSession::Listener,
                      public std::enable_shared_from_this<UnaryExecCore> {
 public:
  UnaryExecCore(bool detached, bool demux, size_t cap, v1::ExecContainerResponse* captured,
                v1::StartExecResponse* started)
      : detached_(detached),
        output_(demux, cap),
        captured_response_(captured),
        started_response_(started) {}

  void Begin(grpc::ServerUnaryReactor* reactor, std::shared_ptr<ExecSession> session) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reactor_ = reactor;
      session_ = session;
    }
    session->Begin();
  }

  void OnExecStarted(const std::string& exec_id) override {
    if (detached_) {
      return Complete(grpc::Status::OK,
                      [this, exec_id] { started_response_->set_exec_id(exec_id); });
    }
    std::shared_ptr<ExecSession> session;
    {
      std::lock_guard<std::mutex> lock(mu_);
      exec_id_ = exec_id;
      session = session_;
    }
    session->Read();
  }

  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override {
    std::shared_ptr<ExecSession> session;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        return;
      }
      for (const OutputPiece& piece : pieces) {
        output_.Add(piece.kind, piece.data);
      }
      session = session_;
    }
    // Past the cap the output is still read (and dropped): a process blocked on a full pipe
    // would never exit.
    if (!eof) {
      session->Read();
    }
  }

  void OnExecExited(int exit_code) override {
    Complete(grpc::Status::OK, [this, exit_code] {
      captured_response_->set_exec_id(exec_id_);
      captured_response_->set_exit_code(exit_code);
      output_.MoveTo(captured_response_);
    });
  }

  void OnExecFailed(const grpc::Status& status) override {
    Complete(status, [] {});
  }

  void OnCancel() {
    std::shared_ptr<ExecSession> session;
    {
      std::lock_guard<std::mutex> lock(mu_);
      session = session_;
    }
    if (session) {
      session->Cancel();
    }
    Complete(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the exec"), [] {});
  }

 private:
  // `fill` writes the response under mu_, once, by the finishing thread.
  void Complete(grpc::Status status, const std::function<void()>& fill) {
    grpc::ServerUnaryReactor* reactor = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        return;
      }
      finished_ = true;
      if (status.ok()) {
        fill();
      }
      reactor = reactor_;
    }
    reactor->Finish(std::move(status));
  }

  const bool detached_;
  std::mutex mu_;
  CapturedOutput output_;
  v1::ExecContainerResponse* captured_response_;
  v1::StartExecResponse* started_response_;
  grpc::ServerUnaryReactor* reactor_ = nullptr;
  std::shared_ptr<ExecSession> session_;
  std::string exec_id_;
  bool finished_ = false;
};

// Forwards OnCancel to the core and deletes itself in OnDone, which gRPC calls only after the
// core's single Finish.
class UnaryExecReactor : public grpc::ServerUnaryReactor {
 public:
  explicit UnaryExecReactor(std::shared_ptr<UnaryExecCore> core) : core_(std::move(core)) {}
  void OnCancel() override { core_->OnCancel(); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<UnaryExecCore> core_;
};

grpc::ServerUnaryReactor* RunUnaryExec(std::shared_ptr<engine::Engine> engine,
                                       const ExecServiceOptions& options, ExecPlan plan,
                                       std::shared_ptr<UnaryExecCore> core) {
  auto* reactor = new UnaryExecReactor(core);
  ExecSession::Options session_options;
  session_options.unary_timeout = options.unary_timeout;
  auto session =
      std::make_shared<ExecSession>(std::move(engine), std::move(plan), session_options, core);
  core->Begin(reactor, std::move(session));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* rpc::ExecContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::ExecContainerRequest* request,
                                             v1::ExecContainerResponse* response) {
  auto engine = env.api.engine_ptr();
  ExecServiceOptions options{env.options.exec_output_cap, env.options.unary_timeout};
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kCaptured, &plan); !st.ok()) {
    return Reject(st);
  }
  auto core = std::make_shared<UnaryExecCore>(/*detached=*/false, request->demux(),
                                              options.output_cap, response, nullptr);
  return RunUnaryExec(std::move(engine), options, std::move(plan), std::move(core));
}

grpc::ServerUnaryReactor* rpc::StartExec(const RpcEnv& env, grpc::CallbackServerContext*,
                                         const v1::StartExecRequest* request,
                                         v1::StartExecResponse* response) {
  auto engine = env.api.engine_ptr();
  ExecServiceOptions options{env.options.exec_output_cap, env.options.unary_timeout};
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kDetached, &plan); !st.ok()) {
    return Reject(st);
  }
  auto core = std::make_shared<UnaryExecCore>(/*detached=*/true, false, 0, nullptr, response);
  return RunUnaryExec(std::move(engine), options, std::move(plan), std::move(core));
}

grpc::ServerUnaryReactor* rpc::InspectExec(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::InspectExecRequest* request,
                                           v1::InspectExecResponse* response) {
  auto engine = env.api.engine_ptr();
  ExecServiceOptions options{env.options.exec_output_cap, env.options.unary_timeout};
  if (grpc::Status st = ValidateContainerRef("exec_id", request->exec_id()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest req("GET", ExecPath(request->exec_id(), "/json"));
  req.timeout = options.unary_timeout;
  return EngineCall(*engine, std::move(req), [response](Result<ApiResponse>& res) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!ExecInspectFromJson(j, response)) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the daemon's exec inspect is not understood");
    }
    return grpc::Status::OK;
  });
}

}  // namespace dockline::server
