#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "engine/engine.h"
#include "server/codec/status_map.h"

namespace dockline::server {

// The one unary call chain. A unary RPC is a chain of engine calls (one or many) that ends in
// exactly one Finish. The reactor (UnaryCall) is gRPC's and deletes itself in OnDone; the
// chain's steps hold a UnaryHandle, which outlives it.
//
// Thread rules: Track() and Finish() may be called from any thread, never with a lock of the
// caller's held across them (they take the handle's lock, then call out). OnCancel (a gRPC
// thread) cancels the tracked step; its callback then finishes the RPC (with CANCELLED). Finish
// runs `fill` and Finish at most once, on the thread that got there first, so the response
// message is written by exactly one thread. After OnDone callbacks still in flight touch only
// the shared state.
class UnaryHandle {
 public:
  // Keeps `call` (the step in flight, or a session) as what a cancel closes; cancels it at once
  // when the RPC was already cancelled or finished.
  void Track(std::shared_ptr<engine::Call> call) const {
    bool cancel_now = false;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->call = call;
      cancel_now = state_->cancelled || state_->finished;
    }
    if (cancel_now && call) {
      call->Cancel();
    }
  }

  // Finishes the RPC once; `fill` (which writes the response) runs only when `status` is OK and
  // this is the first Finish. Later calls do nothing.
  void Finish(grpc::Status status, const std::function<void()>& fill = nullptr) const {
    grpc::ServerUnaryReactor* reactor = nullptr;
    std::shared_ptr<engine::Call> call;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->finished) {
        return;
      }
      state_->finished = true;
      if (status.ok() && fill) {
        fill();
      }
      reactor = state_->reactor;
      call = std::move(state_->call);
    }
    if (call && !status.ok()) {
      call->Cancel();  // a failed chain leaves nothing open behind it
    }
    reactor->Finish(std::move(status));
  }

  // An engine failure through the status table.
  void Fail(const engine::Status& status) const { Finish(ToGrpcStatus(status)); }

 private:
  friend class UnaryCall;
  struct State {
    std::mutex mu;
    std::shared_ptr<engine::Call> call;
    bool cancelled = false;
    bool finished = false;
    grpc::ServerUnaryReactor* reactor = nullptr;
  };
  explicit UnaryHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  // A new reactor to return from the RPC method (in `reactor`), and the handle its chain
  // finishes. Not a pair: lambdas capture the handle, and clang before 16 cannot capture a
  // structured binding.
  static UnaryHandle Start(grpc::ServerUnaryReactor** reactor) {
    auto* call = new UnaryCall();
    *reactor = call;
    return UnaryHandle(call->state_);
  }

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
  UnaryCall() : state_(std::make_shared<UnaryHandle::State>()) { state_->reactor = this; }
  std::shared_ptr<UnaryHandle::State> state_;
};

// A unary RPC refused before any engine call (bad input).
inline grpc::ServerUnaryReactor* Reject(grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  handle.Finish(std::move(status));
  return reactor;
}

// A unary RPC that is one engine call: `start` makes the call with the callback it is given;
// an engine failure maps through the status table, a value goes to `on_value`, which fills the
// response and returns the RPC's status. `Value` is what the docker_api function delivers
// (engine::Result<Value>), or engine::Status for calls that return a status only.
template <typename Value, typename Start, typename OnValue>
grpc::ServerUnaryReactor* UnaryEngineCall(Start&& start, OnValue&& on_value) {
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  // A quick reply finishes the RPC here, on gRPC's thread: the reply then crosses no thread on
  // its way back (see InlineReplyScope).
  engine::InlineReplyScope inline_reply;
  if constexpr (std::is_same_v<Value, engine::Status>) {
    handle.Track(
        start([handle, on_value = std::forward<OnValue>(on_value)](const engine::Status& st) {
          if (!st.ok()) {
            return handle.Fail(st);
          }
          handle.Finish(on_value(st));
        }));
  } else {
    handle.Track(start(
        [handle, on_value = std::forward<OnValue>(on_value)](engine::Result<Value> res) mutable {
          if (!res.ok()) {
            return handle.Fail(res.status());
          }
          handle.Finish(on_value(res.value()));
        }));
  }
  return reactor;
}

}  // namespace dockline::server
