#pragma once

#include <memory>
#include <string_view>
#include <utility>

#include "engine/engine.h"
#include "server/codec/status_map.h"
#include "server/reactor/stream_core.h"

namespace dockline::server {

// A streaming core whose work is one daemon stream relayed (stats, copy-out): opened once, its
// body read only while the output queue has room, so a slow client holds a few messages at
// most. The RPC says how to open it and what each piece becomes. Thread rules are StreamCore's.
template <typename Derived, typename Response>
class BodyRelayCore : public StreamCore<Derived, Response> {
  using Core = StreamCore<Derived, Response>;

 public:
  using typename Core::Actions;

 protected:
  using Core::Core;

  // Opens the daemon stream, handing `opened` to the engine call.
  virtual std::shared_ptr<engine::Call> OpenBody(engine::Engine::StreamCallback opened) = 0;
  // mu_ held, once the stream is open: its reply header (Fail to refuse it).
  virtual void OnOpened(const engine::ApiResponse& /*header*/) {}
  // mu_ held: the body's next bytes, `eof` at its end (the call then completes unless this
  // failed it).
  virtual void OnBody(std::string_view data, bool eof) = 0;

 private:
  enum class State { kOpen, kOpening, kReading };

  void Step(Actions* actions) override {
    if (state_ == State::kOpen) {
      state_ = State::kOpening;
      actions->push_back([self = this->self()] { self->Open(); });
    } else if (state_ == State::kReading && body_ && !reading_ && this->out_.HasRoom()) {
      reading_ = true;
      actions->push_back([self = this->self(), body = body_] { self->Read(body); });
    }
  }

  void OnEnd(const grpc::Status&, Actions* actions) override {
    for (const auto& call : {open_call_, std::shared_ptr<engine::Call>(body_)}) {
      if (call) {
        actions->push_back([call] { call->Cancel(); });
      }
    }
  }

  void Open() {
    // The callback holds the core, so `this` outlives it.
    this->Hold(&open_call_,
               OpenBody(this->OnStreamOpened([this](std::shared_ptr<engine::BodyStream> body,
                                                    const engine::ApiResponse& header) {
                 body_ = std::move(body);
                 state_ = State::kReading;
                 OnOpened(header);
               })));
  }

  void Read(std::shared_ptr<engine::BodyStream> body) {
    std::shared_ptr<BodyRelayCore> self = this->self();
    body->Read([self](const engine::Status& st, std::string_view data, bool eof) {
      self->Update([&] {
        self->reading_ = false;
        if (!st.ok()) {
          return self->Fail(ToGrpcStatus(st));
        }
        self->OnBody(data, eof);
        if (eof) {
          self->body_ = nullptr;
          self->Complete();
        }
      });
    });
  }

  // Guarded by mu_.
  State state_ = State::kOpen;
  bool reading_ = false;
  std::shared_ptr<engine::Call> open_call_;
  std::shared_ptr<engine::BodyStream> body_;
};

}  // namespace dockline::server
