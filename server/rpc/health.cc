#include "server/rpc/health.h"

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/docker_api.h"
#include "server/codec/health_codec.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/status_map.h"
#include "server/codec/validate.h"
#include "server/events/event_follower.h"
#include "server/events/health_calls.h"
#include "server/reactor/stream_core.h"
#include "server/reactor/unary_call.h"

namespace dockline::server {
namespace {

using engine::ContainerDocument;
using engine::Result;

// Health events for one container are rare (one per transition), but a daemon-side prefix
// match on a short container reference can let other containers' events through before the
// full id is known; past this many the oldest are dropped (WaitHealthy inspects afresh).
constexpr size_t kMaxEarlyEvents = 256;
// Transitions awaiting their inspect in WatchHealth; while this many wait (or the output queue
// is full), nothing more is read from the daemon.
constexpr size_t kMaxTransitions = 8;

// Keeps an event that came before the first inspect gave the full id; true when the oldest had
// to be dropped for it.
bool HoldEarly(std::deque<ContainerEvent>* early, const ContainerEvent& event) {
  bool dropped = early->size() == kMaxEarlyEvents;
  if (dropped) {
    early->pop_front();
  }
  early->push_back(event);
  return dropped;
}

// ---------------------------------------------------------------------------------------------
// WaitHealthy

// Subscribes, inspects for the baseline once subscribed, then inspects again after health
// events of the container until a verdict; ends the RPC once through its handle.
//
// Thread rules: the follower's and the inspects' callbacks run on engine threads, possibly at
// the same time (an event batch while an inspect answers), so all state is under mu_. Engine
// calls, cancels and the handle's Finish are made without mu_: they call out, and a cancel runs
// callbacks of ours. The calls are what a client cancel closes (tracked on the handle); their
// pending callback then ends the wait. done_ makes the end happen once; whatever arrives after
// it returns at once. The response is written only by the Finish that wins.
class WaitHealthyOp : public std::enable_shared_from_this<WaitHealthyOp> {
 public:
  WaitHealthyOp(const engine::DockerApi& api, UnaryHandle handle, const std::string& container,
                v1::WaitHealthyResponse* response, WaitBound bound)
      : calls_(std::make_shared<HealthCalls>(api, container)),
        handle_(std::move(handle)),
        container_(container),
        response_(response),
        bound_(std::move(bound)) {}

  void Begin() {
    handle_.Track(calls_);
    // The events request carries the wait's bound: its timeout is the wait's.
    calls_->Subscribe(bound_.timeout, [self = shared_from_this()](const engine::Status& st) {
      self->OnOpened(st);
    });
  }

 private:
  void OnOpened(const engine::Status& st) {
    std::optional<grpc::Status> failure;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      if (!st.ok()) {
        failure = FromEngine(st);
      }
      inspecting_ = true;
    }
    if (failure) {
      return End(std::move(*failure));
    }
    // Subscribed: only now is the current state read, so no transition can fall between the two.
    ReadEvents();
    Inspect();
  }

  void ReadEvents() {
    calls_->Read([self = shared_from_this()](const engine::Status& st,
                                             std::vector<DaemonEvent> events,
                                             bool eof) { self->OnEvents(st, events, eof); });
  }

  void Inspect() {
    calls_->Inspect([self = shared_from_this()](Result<ContainerDocument> res) {
      self->OnInspect(std::move(res));
    });
  }

  void OnEvents(const engine::Status& st, const std::vector<DaemonEvent>& events, bool eof) {
    std::optional<grpc::Status> failure;
    bool inspect = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      if (!st.ok()) {
        failure = FromEngine(st);  // a line too long to be an event included: INTERNAL
      }
      for (const DaemonEvent& event : events) {
        OnEvent(ToContainerEvent(event), &failure);
      }
      if (!failure && eof) {
        failure = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the daemon closed the event stream while waiting for container " +
                                   container_ + " to become healthy");
      }
      inspect = !failure && TakeInspectTurn();
    }
    if (failure) {
      return End(std::move(*failure));
    }
    if (inspect) {
      Inspect();
    }
    ReadEvents();
  }

  // mu_ held.
  void OnEvent(const ContainerEvent& event, std::optional<grpc::Status>* failure) {
    if (failure->has_value()) {
      return;
    }
    if (!have_baseline_) {
      need_inspect_ = HoldEarly(&early_, event) || need_inspect_;
      return;
    }
    if (event.id != id_) {
      return;
    }
    switch (event.kind) {
      case ContainerEvent::Kind::kHealth:
        // The event has the status only; the probe log (and the final word) comes from inspect.
        need_inspect_ = true;
        break;
      case ContainerEvent::Kind::kDie:
        *failure = ExitedWhileWaiting(container_, event.exit_code);
        break;
      case ContainerEvent::Kind::kDestroy:
        *failure = RemovedWhileWaiting(container_);
        break;
      case ContainerEvent::Kind::kStart:
      case ContainerEvent::Kind::kOther:
        break;
    }
  }

  // mu_ held: true when the caller is to start an inspect now.
  bool TakeInspectTurn() {
    if (!have_baseline_ || !need_inspect_ || inspecting_ || done_) {
      return false;
    }
    need_inspect_ = false;
    inspecting_ = true;
    return true;
  }

  void OnInspect(Result<ContainerDocument> res) {
    std::optional<grpc::Status> outcome;
    v1::Health healthy;
    bool again = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      inspecting_ = false;
      if (done_) {
        return;
      }
      if (!res.ok()) {
        // Not FromEngine: an inspect's own deadline is no verdict on the wait.
        outcome = have_baseline_ && res.status().code() == engine::Code::kNotFound
                      ? RemovedWhileWaiting(container_)
                      : ToGrpcStatus(res.status());
      } else {
        outcome = Judge(HealthVerdictFromInspect(res->json), &healthy);
      }
      again = !outcome && TakeInspectTurn();
    }
    if (outcome) {
      return End(std::move(*outcome), std::move(healthy));
    }
    if (again) {
      Inspect();
    }
  }

  // mu_ held: the wait's outcome by one inspect (OK with `healthy` filled), or none yet.
  std::optional<grpc::Status> Judge(HealthVerdict verdict, v1::Health* healthy) {
    last_status_ = verdict.health.status();
    std::optional<grpc::Status> outcome = WaitOutcome(container_, verdict, have_baseline_);
    if (outcome && outcome->ok()) {
      *healthy = std::move(verdict.health);
    } else if (!outcome && !have_baseline_) {
      have_baseline_ = true;
      id_ = verdict.id;
      for (const ContainerEvent& event : std::exchange(early_, {})) {
        OnEvent(event, &outcome);
      }
    }
    return outcome;
  }

  // mu_ held.
  grpc::Status FromEngine(const engine::Status& st) const {
    return st.code() == engine::Code::kTimeout ? NotHealthyInTime(container_, bound_, last_status_)
                                               : ToGrpcStatus(st);
  }

  // The events connection is closed at once, so the daemon drops its listener.
  void End(grpc::Status status, v1::Health healthy = {}) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      done_ = true;
    }
    calls_->Cancel();
    handle_.Finish(std::move(status),
                   [this, &healthy] { *response_->mutable_health() = std::move(healthy); });
  }

  const std::shared_ptr<HealthCalls> calls_;
  const UnaryHandle handle_;
  const std::string container_;
  v1::WaitHealthyResponse* const response_;
  const WaitBound bound_;

  std::mutex mu_;
  bool done_ = false;
  bool inspecting_ = false;
  bool need_inspect_ = false;
  bool have_baseline_ = false;
  std::string id_;
  v1::HealthStatus last_status_ = v1::HEALTH_STATUS_UNSPECIFIED;
  std::deque<ContainerEvent> early_;
};

// ---------------------------------------------------------------------------------------------
// WatchHealth

// Subscribes, inspects for the first message, then turns each health_status event of the
// container into a message (after an inspect for the streak and probe log); a clean end at
// die/destroy once the transitions before it are out.
//
// Thread rules are StreamCore's: the calls' callbacks (engine threads) change state under mu_
// through Update; Step decides under mu_ and its actions (subscribe, read, inspect) run after
// mu_ is released, because their callbacks take it. One events read at a time, and only while
// out_ and the transitions have room, so a slow client stops the reading. OnEnd closes the calls.
class WatchCore : public StreamCore<WatchCore, v1::WatchHealthResponse> {
 public:
  WatchCore(const engine::DockerApi& api, std::string container)
      : StreamCore(api.engine_ptr(), "watch",
                   // Never called: every message is Pushed whole.
                   [](engine::StreamKind, std::string&&) { return v1::WatchHealthResponse(); }),
        calls_(std::make_shared<HealthCalls>(api, container)),
        container_(std::move(container)) {}

 private:
  void Step(Actions* actions) override;
  void OnEnd(const grpc::Status&, Actions* actions) override {
    actions->push_back([calls = calls_] { calls->Cancel(); });
  }

  void OnEvents(const engine::Status& st, const std::vector<DaemonEvent>& events, bool eof);
  void OnEvent(const ContainerEvent& event);  // mu_ held
  void OnInspect(const std::optional<ContainerEvent>& transition, Result<ContainerDocument> res);
  void OnBaseline(const Result<ContainerDocument>& res);  // mu_ held

  const std::shared_ptr<HealthCalls> calls_;
  const std::string container_;

  // Under mu_.
  bool subscribing_ = false;
  bool opened_ = false;
  bool reading_ = false;
  bool baseline_asked_ = false;
  bool inspecting_ = false;
  bool have_baseline_ = false;
  bool stopped_ = false;  // die/destroy seen: end once the transitions before it are out
  std::string id_;
  v1::HealthStatus last_sent_ = v1::HEALTH_STATUS_UNSPECIFIED;
  std::deque<ContainerEvent> early_;
  std::deque<ContainerEvent> transitions_;
};

void WatchCore::Step(Actions* actions) {
  if (!subscribing_) {
    subscribing_ = true;
    actions->push_back([self = self()] {
      self->calls_->Subscribe(std::chrono::milliseconds(0), [self](const engine::Status& st) {
        self->Update([&] {
          if (!st.ok()) {
            return self->Fail(ToGrpcStatus(st));
          }
          self->opened_ = true;
        });
      });
    });
    return;
  }
  // A status already reported (an event that predates the first inspect) is no transition: it
  // needs no inspect and no message.
  while (!inspecting_ && !transitions_.empty() && transitions_.front().health == last_sent_) {
    transitions_.pop_front();
  }
  if (stopped_ && transitions_.empty() && !inspecting_) {
    return Complete();
  }
  if (!opened_) {
    return;
  }
  if (!reading_ && out_.HasRoom() && transitions_.size() < kMaxTransitions) {
    reading_ = true;
    actions->push_back([self = self()] {
      self->calls_->Read([self](const engine::Status& st, std::vector<DaemonEvent> events,
                                bool eof) { self->OnEvents(st, events, eof); });
    });
  }
  std::optional<ContainerEvent> transition;
  if (!baseline_asked_) {
    baseline_asked_ = true;  // subscribed: now the current state, which the first message reports
  } else if (have_baseline_ && !inspecting_ && !transitions_.empty()) {
    transition = transitions_.front();
  } else {
    return;
  }
  inspecting_ = true;
  actions->push_back([self = self(), transition] {
    self->calls_->Inspect([self, transition](Result<ContainerDocument> res) {
      self->OnInspect(transition, std::move(res));
    });
  });
}

void WatchCore::OnEvents(const engine::Status& st, const std::vector<DaemonEvent>& events,
                         bool eof) {
  Update([&] {
    reading_ = false;
    if (ended()) {
      return;
    }
    if (!st.ok()) {
      return Fail(ToGrpcStatus(st));  // a line too long to be an event included: INTERNAL
    }
    for (const DaemonEvent& event : events) {
      OnEvent(ToContainerEvent(event));
    }
    if (eof) {
      Fail(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "the daemon closed the event stream while watching container " + container_));
    }
  });
}

void WatchCore::OnEvent(const ContainerEvent& event) {
  if (!have_baseline_) {
    HoldEarly(&early_, event);
    return;
  }
  if (event.id != id_ || stopped_) {
    return;
  }
  switch (event.kind) {
    case ContainerEvent::Kind::kHealth:
      transitions_.push_back(event);
      break;
    case ContainerEvent::Kind::kDie:
    case ContainerEvent::Kind::kDestroy:
      // The daemon's "unhealthy" after a stop is not a transition: the watch ends here.
      stopped_ = true;
      break;
    case ContainerEvent::Kind::kStart:
    case ContainerEvent::Kind::kOther:
      break;
  }
}

void WatchCore::OnInspect(const std::optional<ContainerEvent>& transition,
                          Result<ContainerDocument> res) {
  Update([&] {
    inspecting_ = false;
    if (ended()) {
      return;
    }
    if (!transition) {
      return OnBaseline(res);
    }
    transitions_.pop_front();
    // The event carries the new status; the inspect adds the streak and the probe log. A failed
    // inspect (the container was removed meanwhile) still reports the transition.
    if (transition->health != last_sent_) {
      v1::WatchHealthResponse msg;
      if (res.ok()) {
        HealthFromJson(StateHealth(res->json), msg.mutable_health());
      }
      msg.mutable_health()->set_status(transition->health);
      *msg.mutable_time() = HealthEventTime(transition->time_nanos);
      last_sent_ = transition->health;
      out_.Push(std::move(msg));
    }
  });
}

void WatchCore::OnBaseline(const Result<ContainerDocument>& res) {
  if (!res.ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  HealthVerdict verdict = HealthVerdictFromInspect(res->json);
  if (grpc::Status refusal = WatchRefusal(container_, verdict); !refusal.ok()) {
    return Fail(std::move(refusal));
  }
  have_baseline_ = true;
  id_ = verdict.id;
  last_sent_ = verdict.health.status();
  v1::WatchHealthResponse msg;
  *msg.mutable_health() = std::move(verdict.health);
  *msg.mutable_time() = HealthEventTime(0);
  out_.Push(std::move(msg));
  for (const ContainerEvent& event : std::exchange(early_, {})) {
    OnEvent(event);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

grpc::ServerUnaryReactor* rpc::GetHealth(const RpcEnv& env, grpc::CallbackServerContext*,
                                         const v1::GetHealthRequest* request,
                                         v1::GetHealthResponse* response) {
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return Reject(std::move(st));
  }
  return UnaryEngineCall<ContainerDocument>(
      [&](engine::Done<ContainerDocument> done) {
        return env.api.InspectContainer(request->container(), std::move(done));
      },
      [response](const ContainerDocument& doc) {
        HealthVerdict verdict = HealthVerdictFromInspect(doc.json);
        *response->mutable_health() = std::move(verdict.health);
        response->set_container_status(verdict.container_status);
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::WaitHealthy(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                           const v1::WaitHealthyRequest* request,
                                           v1::WaitHealthyResponse* response) {
  WaitBound bound;
  grpc::Status st = ValidateContainerRef("container", request->container());
  if (st.ok()) {
    st = ComputeWaitBound(*request, ctx->deadline(), &bound);
  }
  if (!st.ok()) {
    return Reject(std::move(st));
  }
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  std::make_shared<WaitHealthyOp>(env.api, handle, request->container(), response, std::move(bound))
      ->Begin();
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchHealthResponse>* rpc::WatchHealth(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::WatchHealthRequest* request) {
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return new RejectedStream<v1::WatchHealthResponse>(std::move(st));
  }
  return StartStream<WatchCore>(env.api, request->container());
}

}  // namespace dockline::server
