#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "engine/engine.h"
#include "server/codec/status_map.h"

namespace dockline::server {

// A server-streaming reactor that forwards gRPC's reactions to its core and deletes itself in
// OnDone; the core (kept alive by engine callbacks still in flight) stops touching it there.
template <typename Response, typename Core>
class CoreWriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  explicit CoreWriteReactor(std::shared_ptr<Core> core) : core_(std::move(core)) {
    core_->Attach(this);
  }
  void OnWriteDone(bool ok) override { core_->OnWriteDone(ok); }
  void OnCancel() override { core_->OnCancel(); }
  void OnDone() override {
    core_->OnDone();
    delete this;
  }

 private:
  std::shared_ptr<Core> core_;
};

// A unary reactor whose work is a chain of engine calls. Thread rules: Track() and Complete()
// may be called from any thread; OnCancel (a gRPC thread) cancels the tracked engine call, whose
// callback then completes the RPC. Complete() finishes exactly once; the object deletes itself
// in OnDone, after which callbacks still in flight only touch the shared State.
class CallReactor : public grpc::ServerUnaryReactor {
 public:
  struct State {
    std::mutex mu;
    std::shared_ptr<engine::Call> call;
    bool cancelled = false;
    bool finished = false;
    CallReactor* reactor = nullptr;
  };

  CallReactor() : state_(std::make_shared<State>()) { state_->reactor = this; }

  // Keeps `call` as the step to cancel if the client goes away.
  void Track(std::shared_ptr<engine::Call> call) { Track(state_, std::move(call)); }

  // The same for a later step of a chain, from its engine callback (the reactor may be gone).
  static void Track(const std::shared_ptr<State>& state, std::shared_ptr<engine::Call> call) {
    bool cancel_now = false;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->call = call;
      cancel_now = state->cancelled;
    }
    if (cancel_now && call) {
      call->Cancel();
    }
  }

  void Complete(grpc::Status status) { Complete(state_, std::move(status)); }

  static void Complete(const std::shared_ptr<State>& state, grpc::Status status) {
    CallReactor* reactor = nullptr;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (state->finished) {
        return;
      }
      state->finished = true;
      reactor = state->reactor;
    }
    reactor->Finish(std::move(status));
  }

  const std::shared_ptr<State>& state() const { return state_; }

  void OnCancel() override {
    std::shared_ptr<engine::Call> call;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->cancelled = true;
      call = state_->call;
    }
    if (call) {
      call->Cancel();
    }
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->reactor = nullptr;
    }
    delete this;
  }

 private:
  std::shared_ptr<State> state_;
};

// A unary RPC refused before any engine call (bad input).
inline grpc::ServerUnaryReactor* Reject(grpc::Status status) {
  auto* reactor = new CallReactor();
  reactor->Complete(std::move(status));
  return reactor;
}

// A server-streaming RPC refused before any engine call.
template <typename Response>
class RejectedStream : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectedStream(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

using ResultHandler = std::function<grpc::Status(engine::Result<engine::ApiResponse>&)>;

// One engine call whose reply `on_result` turns into the RPC's response; failures map through
// the status table unless the handler looks at them first.
inline grpc::ServerUnaryReactor* EngineCall(engine::Engine& engine, engine::ApiRequest request,
                                            ResultHandler on_result) {
  auto* reactor = new CallReactor();
  auto state = reactor->state();
  reactor->Track(engine.Unary(std::move(request), [state, on_result = std::move(on_result)](
                                                      engine::Result<engine::ApiResponse> res) {
    if (!res.status().ok()) {
      return CallReactor::Complete(state, ToGrpcStatus(res.status()));
    }
    CallReactor::Complete(state, on_result(res));
  }));
  return reactor;
}

}  // namespace dockline::server
