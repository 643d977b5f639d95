#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "server/codec/status_map.h"
#include "server/reactor/output_queue.h"

namespace dockline::server {

// The one core of every streaming RPC (run, logs, streamed and attached exec, health watch).
// An RPC derives from it, keeps its own state under mu_, and says what to do next in Step();
// the core owns what they all share: the lock, the bounded output queue with its coalescer and
// flush timer, the first failure, finishing exactly once, and the guard on reactor calls.
//
// Thread rules. Engine callbacks (engine threads, possibly several at once) and gRPC reactions
// (OnWriteDone, OnReadDone, OnCancel; possibly concurrent) change state under mu_ and then call
// Drive(). Drive decides under mu_ (Step, the next write, the finish) and acts after releasing
// it: StartWrite, StartRead, Finish and engine calls are never made with mu_ held. Every
// reactor call decided under mu_ is counted until it has returned, and Finish waits for that
// count to reach zero, so no StartWrite/StartRead can reach a reactor that OnDone has deleted.
// After OnDone the core may live on (engine callbacks hold it) but never touches the reactor.
//
// `Derived` (CRTP) gives self() its own type; `Reactor` is a ServerWriteReactor<Response> or a
// ServerBidiReactor<Request, Response>.
template <typename Derived, typename Response,
          typename Reactor = grpc::ServerWriteReactor<Response>>
class StreamCore : public std::enable_shared_from_this<Derived> {
 public:
  using Actions = std::vector<std::function<void()>>;
  using ReactorType = Reactor;

  virtual ~StreamCore() = default;

  // Called once by the reactor shell before the first Drive.
  void Attach(Reactor* reactor) { reactor_ = reactor; }

  void Drive() {
    Actions actions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Decide(&actions);
    }
    for (auto& action : actions) {
      action();
    }
  }

  // Runs `change` under mu_, then drives.
  template <typename F>
  void Update(F&& change) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      change();
    }
    Drive();
  }

  // --- reactions (gRPC threads) ---

  void OnWriteDone(bool ok) {
    Update([&] {
      out_.WriteDone();
      if (!ok) {
        Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      }
    });
  }

  void OnCancel() {
    Update([&] {
      Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the " + what_));
    });
  }

  void OnDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    finished_ = true;
  }

 protected:
  // `what` names the call in the CANCELLED message ("the client cancelled the run").
  StreamCore(std::shared_ptr<engine::Engine> engine, std::string what,
             typename OutputQueue<Response>::MakeChunk make_chunk)
      : engine_(std::move(engine)), out_(std::move(make_chunk)), what_(std::move(what)) {}

  std::shared_ptr<Derived> self() { return this->shared_from_this(); }

  // mu_ held. The RPC's own next steps, pushed as actions; called while the call has neither
  // failed nor been completed.
  virtual void Step(Actions* actions) = 0;
  // mu_ held, once, when the call ends: `status` is the failure, or OK when Complete() was
  // called. The place to cancel what is still open.
  virtual void OnEnd(const grpc::Status& /*status*/, Actions* /*actions*/) {}

  // mu_ held. The first failure wins, also over a completion still draining; what is queued is
  // dropped (nobody is left to read it).
  void Fail(grpc::Status status) {
    if (!failure_) {
      failure_ = std::move(status);
    }
  }
  // mu_ held. Ends the call with `status` once everything queued has been written: OK, or an
  // end that still owes the client what came before it (a stream the daemon cut short).
  void Complete(grpc::Status status = grpc::Status::OK) {
    if (!failure_ && !completing_) {
      completing_ = true;
      completion_ = std::move(status);
    }
  }
  // mu_ held.
  bool ended() const { return failure_.has_value() || completing_ || finished_; }

  // Keeps `call` in `*slot` (a member guarded by mu_) so that OnEnd can cancel it; cancels it at
  // once when the call has already ended. Takes mu_.
  void Hold(std::shared_ptr<engine::Call>* slot, std::shared_ptr<engine::Call> call) {
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      *slot = call;
      cancel = ended();
    }
    if (cancel && call) {
      call->Cancel();
    }
  }

  // The callback of an engine call that opens a daemon stream: a failure (through `map`, when
  // the call gives the daemon's status a meaning of its own) fails the call; an open body goes
  // to `opened` (mu_ held) while the call is on, and is closed at once once it has ended.
  engine::Engine::StreamCallback OnBodyOpened(
      std::function<void(std::shared_ptr<engine::BodyStream>)> opened,
      std::function<engine::Status(const engine::Status&)> map = nullptr) {
    return OnStreamOpened(
        [opened = std::move(opened)](std::shared_ptr<engine::BodyStream> body,
                                     const engine::ApiResponse&) { opened(std::move(body)); },
        std::move(map));
  }
  // The same for a call that also reads the reply's header fields (copy-out's path stat).
  engine::Engine::StreamCallback OnStreamOpened(
      std::function<void(std::shared_ptr<engine::BodyStream>, const engine::ApiResponse&)> opened,
      std::function<engine::Status(const engine::Status&)> map = nullptr) {
    return [self = self(), opened = std::move(opened), map = std::move(map)](
               engine::Result<engine::ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
      bool unwanted = false;
      self->Update([&] {
        unwanted = self->ended();
        if (unwanted) {
          return;
        }
        if (!res.status().ok()) {
          return self->Fail(ToGrpcStatus(map ? map(res.status()) : res.status()));
        }
        opened(body, res.value());
      });
      if (unwanted && body) {
        body->Cancel();
      }
    };
  }

  // mu_ held: a StartWrite/StartRead-like call on the reactor, counted until it returns.
  void AddReactorCall(Actions* actions, std::function<void(Reactor*)> call) {
    ++reactor_calls_;
    actions->push_back([self = self(), r = reactor_, call = std::move(call)] {
      call(r);
      bool again = false;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        again = --self->reactor_calls_ == 0;
      }
      if (again) {
        self->Drive();
      }
    });
  }

  const std::shared_ptr<engine::Engine> engine_;
  std::mutex mu_;
  // While it is full the RPC stops reading from the daemon (HasRoom), so a slow client holds at
  // most a few chunks in memory.
  OutputQueue<Response> out_;

 private:
  void OnFlushDue() {
    Update([&] { flush_timer_.Fired(); });
  }

  void Decide(Actions* actions) {  // mu_ held
    if (finished_) {
      return;
    }
    if (!failure_ && !completing_) {
      Step(actions);
    }
    if ((failure_ || completing_) && !end_reported_) {
      end_reported_ = true;
      OnEnd(failure_ ? *failure_ : completion_, actions);
    }
    if (failure_) {
      if (!out_.writing() && reactor_calls_ == 0) {
        finished_ = true;
        actions->push_back([r = reactor_, st = *failure_] { r->Finish(st); });
      }
      return;
    }
    if (completing_) {
      out_.Flush();
    } else if (auto arm = flush_timer_.Arm(out_.FlushIfIdle(), engine_,
                                           [self = self()] { self->OnFlushDue(); })) {
      actions->push_back(std::move(arm));
    }
    if (const Response* next = out_.NextWrite()) {
      AddReactorCall(actions, [next](Reactor* r) { r->StartWrite(next); });
    }
    if (completing_ && out_.drained() && reactor_calls_ == 0) {
      finished_ = true;
      actions->push_back([r = reactor_, st = completion_] { r->Finish(st); });
    }
  }

  Reactor* reactor_ = nullptr;
  const std::string what_;
  FlushTimer flush_timer_;
  std::optional<grpc::Status> failure_;
  grpc::Status completion_;  // what a completing call ends with
  bool completing_ = false;
  bool end_reported_ = false;
  bool finished_ = false;
  int reactor_calls_ = 0;
};

// The reactor shell: forwards gRPC's reactions to its core and deletes itself in OnDone. The only
// server-streaming reactor type (with CoreBidiReactor); RPCs never derive from gRPC reactors.
template <typename Core>
class CoreReactor : public Core::ReactorType {
 public:
  explicit CoreReactor(std::shared_ptr<Core> core) : core_(std::move(core)) { core_->Attach(this); }
  void OnWriteDone(bool ok) override { core_->OnWriteDone(ok); }
  void OnCancel() override { core_->OnCancel(); }
  void OnDone() override {
    core_->OnDone();
    delete this;
  }

 protected:
  std::shared_ptr<Core> core_;
};

// The same for a bidi core, which also hears about reads.
template <typename Core>
class CoreBidiReactor : public CoreReactor<Core> {
 public:
  using CoreReactor<Core>::CoreReactor;
  void OnReadDone(bool ok) override { this->core_->OnReadDone(ok); }
};

// Makes the core and its shell, then drives it for the first time.
template <typename Core, typename Shell = CoreReactor<Core>, typename... Args>
typename Core::ReactorType* StartStream(Args&&... args) {
  auto core = std::make_shared<Core>(std::forward<Args>(args)...);
  auto* reactor = new Shell(core);
  core->Drive();
  return reactor;
}

// A server-streaming RPC refused before any engine call (bad input).
template <typename Response>
class RejectedStream : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectedStream(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace dockline::server
