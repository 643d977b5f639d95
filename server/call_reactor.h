#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>

#include "engine/engine.h"

namespace dockline::server {

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

}  // namespace dockline::server
