#include "server/rpc/exec.h"

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/codec/validate.h"
#include "server/reactor/unary_call.h"

namespace dockline::server {
namespace {

// ExecContainer (captured) and StartExec (detached): one session, one reply, as a chain on
// UnaryCall. The chain tracks this object, not the bare session: a cancelled session goes
// silent (no Listener callback follows its Cancel), so the step an RPC cancel closes must also
// finish the RPC itself.
//
// Thread rules: session callbacks (engine threads) and Cancel (the RPC's OnCancel on a gRPC
// thread, or the handle's Finish) may run at once. The handle finishes the RPC once and runs
// the response's fill on the finishing thread only. mu_ guards the capture and the exec id; it
// is taken inside a fill (the handle's lock, then mu_) and never held across a call into the
// handle or the session. session_ is set before the chain tracks this and never changes.
// Ownership: the handle's state holds this until the RPC is finished, this holds the session,
// the session holds this weakly.
class UnaryExec : public ExecSession::Listener,
                  public engine::Call,
                  public std::enable_shared_from_this<UnaryExec> {
 public:
  UnaryExec(UnaryHandle handle, bool demux, size_t cap, v1::ExecContainerResponse* captured,
            v1::StartExecResponse* started)
      : handle_(std::move(handle)),
        captured_response_(captured),
        started_response_(started),
        output_(demux, cap) {}

  void Begin(const engine::DockerApi& api, ExecPlan plan) {
    session_ =
        std::make_shared<ExecSession>(api, std::move(plan), ExitPollPolicy{}, weak_from_this());
    handle_.Track(shared_from_this());
    session_->Begin();
  }

  // --- ExecSession::Listener (engine threads) ---

  void OnExecStarted(const std::string& exec_id) override {
    if (started_response_ != nullptr) {
      return handle_.Finish(grpc::Status::OK,
                            [this, exec_id] { started_response_->set_exec_id(exec_id); });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      exec_id_ = exec_id;
    }
    session_->Read();
  }

  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const OutputPiece& piece : pieces) {
        output_.Add(piece.kind, piece.data);
      }
    }
    // Past the cap the output is still read (and dropped): a process blocked on a full pipe
    // would never exit.
    if (!eof) {
      session_->Read();
    }
  }

  void OnExecExited(int exit_code, const grpc::Status& output_end) override {
    if (!output_end.ok()) {
      return handle_.Finish(grpc::Status(
          output_end.error_code(), output_end.error_message() + " (the command exited with code " +
                                       std::to_string(exit_code) + ")"));
    }
    handle_.Finish(grpc::Status::OK, [this, exit_code] {
      std::lock_guard<std::mutex> lock(mu_);
      captured_response_->set_exec_id(exec_id_);
      captured_response_->set_exit_code(exit_code);
      output_.MoveTo(captured_response_);
    });
  }

  void OnExecFailed(const grpc::Status& status) override { handle_.Finish(status); }

  // --- engine::Call: the RPC was cancelled (or failed) ---

  void Cancel() override {
    // Closes the hijacked connection at once; the process itself keeps running.
    session_->Cancel();
    handle_.Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the exec"));
  }

 private:
  const UnaryHandle handle_;
  v1::ExecContainerResponse* const captured_response_;  // ExecContainer only
  v1::StartExecResponse* const started_response_;       // StartExec only
  std::shared_ptr<ExecSession> session_;

  std::mutex mu_;
  CapturedOutput output_;
  std::string exec_id_;
};

grpc::ServerUnaryReactor* RunUnaryExec(const RpcEnv& env, ExecPlan plan, bool demux,
                                       v1::ExecContainerResponse* captured,
                                       v1::StartExecResponse* started) {
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  auto exec = std::make_shared<UnaryExec>(std::move(handle), demux, env.options.exec_output_cap,
                                          captured, started);
  exec->Begin(env.api, std::move(plan));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* rpc::ExecContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::ExecContainerRequest* request,
                                             v1::ExecContainerResponse* response) {
  ExecPlan plan;
  if (grpc::Status st = PlanExec(request->config(), ExecMode::kCaptured, &plan); !st.ok()) {
    return Reject(st);
  }
  return RunUnaryExec(env, std::move(plan), request->demux(), response, nullptr);
}

grpc::ServerUnaryReactor* rpc::StartExec(const RpcEnv& env, grpc::CallbackServerContext*,
                                         const v1::StartExecRequest* request,
                                         v1::StartExecResponse* response) {
  ExecPlan plan;
  const ExecMode mode = request->retain_output() ? ExecMode::kStreamed : ExecMode::kDetached;
  if (grpc::Status st = PlanExec(request->config(), mode, &plan); !st.ok()) {
    return Reject(st);
  }
  if (!request->retain_output()) {
    return RunUnaryExec(env, std::move(plan), /*demux=*/false, nullptr, response);
  }
  if (!env.retained) {
    return Reject(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               "this server keeps no exec output (retain_output)"));
  }
  // Attached on the server rather than detached: the retained exec reads its output. A cancel
  // of this call does not stop it (nor could it stop the process), so nothing is tracked.
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  env.retained->Start(env.api, std::move(plan), env.identity.name,
                      [handle, response](const grpc::Status& st, const std::string& exec_id) {
                        handle.Finish(st, [response, &exec_id] { response->set_exec_id(exec_id); });
                      });
  return reactor;
}

grpc::ServerUnaryReactor* rpc::InspectExec(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::InspectExecRequest* request,
                                           v1::InspectExecResponse* response) {
  if (grpc::Status st = ValidateContainerRef("exec_id", request->exec_id()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::Json>(
      [&](auto done) { return env.api.InspectExec(request->exec_id(), std::move(done)); },
      [response](const engine::Json& j) {
        if (!ExecInspectFromJson(j, response)) {
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "the daemon's exec inspect is not understood");
        }
        return grpc::Status::OK;
      });
}

}  // namespace dockline::server
