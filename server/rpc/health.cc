#include "server/rpc/health.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/legacy_call_reactor.h"

namespace dockline::server {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

// Health events for one container are rare (one per transition), but a daemon-side prefix
// match on a short container reference can let other containers' events through before the
// full id is known; past this many the oldest are dropped and a fresh inspect covers them.
constexpr size_t kMaxEarlyEvents = 256;
// Messages (and transitions awaiting their inspect) held for a slow WatchHealth client; while
// full, nothing more is read from the daemon.
constexpr size_t kMaxQueue = 8;
// Beyond this an RPC deadline means "none".
constexpr auto kNoDeadlineBeyond = std::chrono::hours(24 * 365 * 10);
// The probe output quoted in an error message, like the spec's wait_for_healthy.
constexpr size_t kMaxQuotedOutput = 200;

grpc::Status Failed(std::string message) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::move(message));
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// "CONTAINER_STATUS_EXITED" -> "exited": the daemon's own word for it.
std::string EnumWord(const std::string& name, std::string_view prefix) {
  std::string word = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return word;
}

std::string StatusWord(v1::ContainerStatus status) {
  return EnumWord(v1::ContainerStatus_Name(status), "CONTAINER_STATUS_");
}

std::string HealthWord(v1::HealthStatus status) {
  return EnumWord(v1::HealthStatus_Name(status), "HEALTH_STATUS_");
}

// State.Health of an inspect document, or null (no healthcheck).
const json& StateHealth(const json& inspect) {
  static const json kNull;
  const json* state = Member(inspect, "State");
  const json* health = state != nullptr ? Member(*state, "Health") : nullptr;
  return health != nullptr ? *health : kNull;
}

ApiRequest InspectRequest(const std::string& container, std::chrono::milliseconds timeout) {
  ApiRequest request("GET", "/containers/" + EscapePathSegment(container) + "/json");
  request.timeout = timeout;
  return request;
}

ApiRequest EventsRequest(const std::string& container, std::chrono::milliseconds timeout) {
  ApiRequest request("GET", "/events");
  request.Query("filters", HealthEventsFilter(container));
  request.timeout = timeout;
  return request;
}

void SetTimeFromNanos(int64_t nanos, google::protobuf::Timestamp* out) {
  if (nanos > 0) {
    *out = TimeUtil::NanosecondsToTimestamp(nanos);
  } else {
    // (TimeUtil::GetCurrentTime has whole seconds only.)
    *out = TimeUtil::NanosecondsToTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  }
}

// WaitHealthy's bound: request.timeout and the RPC deadline, whichever comes first (zero: none).
struct WaitBound {
  std::chrono::milliseconds timeout{0};
  std::string text;  // "within 5s" / "before the RPC deadline"
};

grpc::Status ComputeWaitBound(const grpc::CallbackServerContext* ctx,
                              const v1::WaitHealthyRequest& request, WaitBound* bound) {
  if (request.has_timeout()) {
    const auto& d = request.timeout();
    if (d.seconds() < 0 || d.nanos() < 0 || TimeUtil::DurationToNanoseconds(d) < 1000000) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "timeout: must be at least 1ms when set, got " + TimeUtil::ToString(d));
    }
    // Rounded up so that a sub-millisecond remainder never turns into "no timeout".
    int64_t nanos = TimeUtil::DurationToNanoseconds(d);
    bound->timeout = std::chrono::milliseconds((nanos + 999999) / 1000000);
    bound->text = "within " + TimeUtil::ToString(d);
  }
  if (ctx != nullptr) {
    auto now = std::chrono::system_clock::now();
    auto deadline = ctx->deadline();
    if (deadline < now + kNoDeadlineBeyond) {
      auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                           std::chrono::milliseconds(1));
      if (bound->timeout.count() == 0 || left < bound->timeout) {
        bound->timeout = left;
        bound->text = "before the RPC deadline";
      }
    }
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// WaitHealthy

// Thread rules: engine callbacks (events reads, inspects) may run at the same time on engine
// threads; all state is under mu_, and engine calls and Complete are made without it. The
// events stream is the call a client cancel closes (tracked in the CallReactor state); an
// inspect in flight is cancelled when the wait ends.
class WaitHealthyOp : public std::enable_shared_from_this<WaitHealthyOp> {
 public:
  WaitHealthyOp(std::shared_ptr<engine::Engine> engine, std::shared_ptr<CallReactor::State> state,
                std::string container, v1::WaitHealthyResponse* response, WaitBound bound,
                std::chrono::milliseconds unary_timeout)
      : engine_(std::move(engine)),
        state_(std::move(state)),
        container_(std::move(container)),
        response_(response),
        bound_(std::move(bound)),
        unary_timeout_(unary_timeout) {}

  void Begin() {
    auto call =
        engine_->Stream(EventsRequest(container_, bound_.timeout),
                        [self = shared_from_this()](Result<ApiResponse> res,
                                                    std::shared_ptr<engine::BodyStream> body) {
                          self->OnEventsOpen(std::move(res), std::move(body));
                        });
    bool opened = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      opened = events_ != nullptr;
    }
    if (!opened) {
      CallReactor::Track(state_, call);
    }
  }

 private:
  void OnEventsOpen(Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
    if (!res.status().ok() || !body) {
      grpc::Status status;
      {
        std::lock_guard<std::mutex> lock(mu_);
        status = FromEngine(res.status());
      }
      return End(std::move(status));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        body->Cancel();
        return;
      }
      events_ = body;
    }
    CallReactor::Track(state_, body);
    // The subscription is in place: only now is the current state read, so no transition can
    // fall between the two.
    ReadEvents();
    StartInspect();
  }

  void ReadEvents() {
    std::shared_ptr<engine::BodyStream> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || !events_) {
        return;
      }
      events = events_;
    }
    events->Read([self = shared_from_this()](const engine::Status& st, std::string_view data,
                                             bool eof) { self->OnEventsData(st, data, eof); });
  }

  void OnEventsData(const engine::Status& st, std::string_view data, bool eof) {
    bool inspect = false;
    std::optional<grpc::Status> failure;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      if (!st.ok()) {
        failure = FromEngine(st);
      }
      bool fits = failure.has_value() || lines_.Feed(data, [this, &failure](std::string_view line) {
        auto j = json::parse(line, nullptr, false);
        if (j.is_object()) {
          OnEvent(ParseContainerEvent(j), &failure);
        }
      });
      if (!fits && !failure) {
        failure = grpc::Status(grpc::StatusCode::INTERNAL,
                               "the daemon's event stream has a line too long to be an event");
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
      StartInspect();
    }
    ReadEvents();
  }

  // mu_ held.
  void OnEvent(const ContainerEvent& event, std::optional<grpc::Status>* failure) {
    if (!have_baseline_) {
      if (early_.size() == kMaxEarlyEvents) {
        early_.pop_front();
        need_inspect_ = true;
      }
      early_.push_back(event);
      return;
    }
    if (event.id != id_ || failure->has_value()) {
      return;
    }
    switch (event.kind) {
      case ContainerEvent::Kind::kHealth:
        // The event has the status only; the probe log (and the final word) comes from inspect.
        need_inspect_ = true;
        break;
      case ContainerEvent::Kind::kDie:
        *failure = Failed("container " + container_ + " exited while waiting to become healthy" +
                          (event.exit_code ? " (exit code " + std::to_string(*event.exit_code) + ")"
                                           : std::string()));
        break;
      case ContainerEvent::Kind::kDestroy:
        *failure =
            Failed("container " + container_ + " was removed while waiting to become healthy");
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

  void StartInspect() {
    uint64_t seq = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      inspecting_ = true;
      seq = ++inspect_seq_;
    }
    auto call = engine_->Unary(
        InspectRequest(container_, unary_timeout_),
        [self = shared_from_this()](Result<ApiResponse> res) { self->OnInspect(std::move(res)); });
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Unless it has answered already (and maybe a later one started).
      if (inspecting_ && inspect_seq_ == seq) {
        inspect_ = call;
      }
      cancel = done_;
    }
    if (cancel) {
      call->Cancel();
    }
  }

  void OnInspect(Result<ApiResponse> res) {
    std::optional<grpc::Status> outcome;
    v1::Health healthy;
    bool inspect_again = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      inspecting_ = false;
      inspect_ = nullptr;
      if (done_) {
        return;
      }
      if (!res.status().ok()) {
        if (have_baseline_ && res.status().code() == engine::Code::kNotFound) {
          outcome =
              Failed("container " + container_ + " was removed while waiting to become healthy");
        } else {
          // Not FromEngine: an inspect's own deadline is no verdict on the wait.
          outcome = ToGrpcStatus(res.status());
        }
      } else {
        auto j = json::parse(res->body, nullptr, false);
        if (!j.is_object()) {
          outcome =
              grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect reply is not JSON");
        } else {
          HealthVerdict verdict = HealthVerdictFromInspect(j);
          last_status_ = verdict.health.status();
          switch (verdict.kind) {
            case HealthVerdict::Kind::kHealthy:
              healthy = std::move(verdict.health);
              outcome = grpc::Status::OK;
              break;
            case HealthVerdict::Kind::kUnhealthy: {
              std::string probe = DescribeLastProbe(verdict.health);
              outcome = Failed("container " + container_ + " is unhealthy" +
                               (probe.empty() ? "" : ": " + probe));
              break;
            }
            case HealthVerdict::Kind::kNoHealthcheck:
              outcome = Failed("container " + container_ +
                               " has no healthcheck (none in its image or spec, or test NONE)");
              break;
            case HealthVerdict::Kind::kNotRunning:
              outcome = Failed("container " + container_ +
                               (have_baseline_ ? " exited while waiting to become healthy"
                                               : " is not running (" +
                                                     StatusWord(verdict.container_status) + ")"));
              break;
            case HealthVerdict::Kind::kStarting:
              if (!have_baseline_) {
                have_baseline_ = true;
                id_ = verdict.id;
                std::deque<ContainerEvent> early;
                early.swap(early_);
                for (const ContainerEvent& event : early) {
                  OnEvent(event, &outcome);
                }
              }
              break;
          }
        }
      }
      if (!outcome) {
        inspect_again = TakeInspectTurn();
      }
    }
    if (outcome && outcome->ok()) {
      return Succeed(std::move(healthy));
    }
    if (outcome) {
      return End(std::move(*outcome));
    }
    if (inspect_again) {
      StartInspect();
    }
  }

  // mu_ held.
  grpc::Status FromEngine(const engine::Status& st) {
    if (st.code() == engine::Code::kTimeout) {
      std::string seen = last_status_ == v1::HEALTH_STATUS_UNSPECIFIED
                             ? ""
                             : " (still " + HealthWord(last_status_) + ")";
      return grpc::Status(
          grpc::StatusCode::DEADLINE_EXCEEDED,
          "container " + container_ + " did not become healthy " + bound_.text + seen);
    }
    return ToGrpcStatus(st);
  }

  void Succeed(v1::Health health) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      done_ = true;
      // The response is ours until Complete: nothing else finishes the RPC.
      *response_->mutable_health() = std::move(health);
    }
    CloseAll();
    CallReactor::Complete(state_, grpc::Status::OK);
  }

  void End(grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) {
        return;
      }
      done_ = true;
    }
    CloseAll();
    CallReactor::Complete(state_, std::move(status));
  }

  // After done_: the events connection is closed at once, so the daemon drops its listener.
  void CloseAll() {
    std::shared_ptr<engine::Call> events;
    std::shared_ptr<engine::Call> inspect;
    {
      std::lock_guard<std::mutex> lock(mu_);
      events = std::move(events_);
      inspect = std::move(inspect_);
    }
    if (events) {
      events->Cancel();
    }
    if (inspect) {
      inspect->Cancel();
    }
  }

  const std::shared_ptr<engine::Engine> engine_;
  const std::shared_ptr<CallReactor::State> state_;
  const std::string container_;
  v1::WaitHealthyResponse* const response_;
  const WaitBound bound_;
  const std::chrono::milliseconds unary_timeout_;

  std::mutex mu_;
  bool done_ = false;
  std::shared_ptr<engine::BodyStream> events_;
  std::shared_ptr<engine::Call> inspect_;
  uint64_t inspect_seq_ = 0;
  bool inspecting_ = false;
  bool need_inspect_ = false;
  bool have_baseline_ = false;
  std::string id_;
  v1::HealthStatus last_status_ = v1::HEALTH_STATUS_UNSPECIFIED;
  std::deque<ContainerEvent> early_;
  LineSplitter lines_;
};

// ---------------------------------------------------------------------------------------------
// WatchHealth

using WatchReactor = grpc::ServerWriteReactor<v1::WatchHealthResponse>;

// The watch as a state machine in the manner of RunCore: engine callbacks and gRPC reactions
// change state under mu_ and call Drive(), which decides under the lock and acts (StartWrite,
// Finish, engine calls, cancels) after releasing it. One write in flight; while kMaxQueue
// messages or transitions wait, nothing more is read from the daemon.
class WatchCore : public std::enable_shared_from_this<WatchCore> {
 public:
  WatchCore(std::shared_ptr<engine::Engine> engine, std::string container,
            std::chrono::milliseconds unary_timeout)
      : engine_(std::move(engine)),
        container_(std::move(container)),
        unary_timeout_(unary_timeout) {}

  void Attach(WatchReactor* reactor) { reactor_ = reactor; }
  void Begin();
  void OnWriteDone(bool ok);
  void OnCancel();
  void OnDone();

 private:
  using Actions = std::vector<std::function<void()>>;

  void Drive();
  void End(grpc::Status status) {  // mu_ held
    if (!end_) {
      end_ = std::move(status);
    }
  }
  void OnEventsOpen(Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body);
  void OnEventsData(const engine::Status& st, std::string_view data, bool eof);
  void OnEvent(const ContainerEvent& event);  // mu_ held
  void Inspect(std::optional<ContainerEvent> transition);
  void OnInspect(std::optional<ContainerEvent> transition, Result<ApiResponse> res);

  const std::shared_ptr<engine::Engine> engine_;
  const std::string container_;
  const std::chrono::milliseconds unary_timeout_;
  WatchReactor* reactor_ = nullptr;

  std::mutex mu_;
  bool finished_ = false;
  std::optional<grpc::Status> end_;
  std::shared_ptr<engine::Call> opening_;
  std::shared_ptr<engine::BodyStream> events_;
  bool reading_ = false;
  std::shared_ptr<engine::Call> inspect_;
  uint64_t inspect_seq_ = 0;
  bool inspecting_ = false;
  bool have_baseline_ = false;
  bool stopped_ = false;  // die/destroy seen: end once the transitions before it are out
  std::string id_;
  v1::HealthStatus last_sent_ = v1::HEALTH_STATUS_UNSPECIFIED;
  std::deque<ContainerEvent> early_;
  std::deque<ContainerEvent> transitions_;
  std::deque<v1::WatchHealthResponse> queue_;
  bool writing_ = false;
  LineSplitter lines_;
};

void WatchCore::Begin() {
  auto call =
      engine_->Stream(EventsRequest(container_, std::chrono::milliseconds(0)),
                      [self = shared_from_this()](Result<ApiResponse> res,
                                                  std::shared_ptr<engine::BodyStream> body) {
                        self->OnEventsOpen(std::move(res), std::move(body));
                      });
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    opening_ = call;
    cancel = end_.has_value();
  }
  if (cancel) {
    call->Cancel();
  }
}

void WatchCore::OnEventsOpen(Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
  bool inspect = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    opening_ = nullptr;
    if (!res.status().ok() || !body) {
      End(ToGrpcStatus(res.status()));
    } else if (end_) {
      body->Cancel();
    } else {
      events_ = body;
      // Subscribed: now the current state, which the first message reports.
      inspecting_ = true;
      inspect = true;
    }
  }
  if (inspect) {
    Inspect(std::nullopt);
  }
  Drive();
}

void WatchCore::Inspect(std::optional<ContainerEvent> transition) {
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = ++inspect_seq_;
  }
  auto call = engine_->Unary(InspectRequest(container_, unary_timeout_),
                             [self = shared_from_this(), transition](Result<ApiResponse> res) {
                               self->OnInspect(transition, std::move(res));
                             });
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (inspecting_ && inspect_seq_ == seq) {
      inspect_ = call;
    }
    cancel = end_.has_value();
  }
  if (cancel) {
    call->Cancel();
  }
}

void WatchCore::OnInspect(std::optional<ContainerEvent> transition, Result<ApiResponse> res) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inspecting_ = false;
    inspect_ = nullptr;
    if (end_ || finished_) {
      return;
    }
    json j;
    if (res.status().ok()) {
      j = json::parse(res->body, nullptr, false);
    }
    if (!transition) {
      // The first message: the state right after subscribing.
      if (!res.status().ok()) {
        End(ToGrpcStatus(res.status()));
      } else if (!j.is_object()) {
        End(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect reply is not JSON"));
      } else {
        HealthVerdict verdict = HealthVerdictFromInspect(j);
        if (verdict.kind == HealthVerdict::Kind::kNoHealthcheck) {
          End(Failed("container " + container_ +
                     " has no healthcheck (none in its image or spec, or test NONE)"));
        } else if (verdict.kind == HealthVerdict::Kind::kNotRunning) {
          // Its health would read "unhealthy", which says nothing about the application.
          End(Failed("container " + container_ + " is not running"));
        } else {
          have_baseline_ = true;
          id_ = verdict.id;
          last_sent_ = verdict.health.status();
          v1::WatchHealthResponse msg;
          *msg.mutable_health() = std::move(verdict.health);
          SetTimeFromNanos(0, msg.mutable_time());
          queue_.push_back(std::move(msg));
          std::deque<ContainerEvent> early;
          early.swap(early_);
          for (const ContainerEvent& event : early) {
            OnEvent(event);
          }
        }
      }
    } else {
      transitions_.pop_front();
      // The event carries the new status; the inspect adds the streak and the probe log. A
      // failed inspect (the container was removed meanwhile) still reports the transition.
      if (transition->health != last_sent_) {
        v1::WatchHealthResponse msg;
        if (j.is_object()) {
          HealthFromJson(StateHealth(j), msg.mutable_health());
        }
        msg.mutable_health()->set_status(transition->health);
        SetTimeFromNanos(transition->time_nanos, msg.mutable_time());
        last_sent_ = transition->health;
        queue_.push_back(std::move(msg));
      }
    }
  }
  Drive();
}

void WatchCore::OnEventsData(const engine::Status& st, std::string_view data, bool eof) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    if (end_ || finished_) {
      return;
    }
    if (!st.ok()) {
      End(ToGrpcStatus(st));
    } else {
      bool fits = lines_.Feed(data, [this](std::string_view line) {
        auto j = json::parse(line, nullptr, false);
        if (j.is_object()) {
          OnEvent(ParseContainerEvent(j));
        }
      });
      if (!fits) {
        End(grpc::Status(grpc::StatusCode::INTERNAL,
                         "the daemon's event stream has a line too long to be an event"));
      } else if (eof) {
        End(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "the daemon closed the event stream while watching container " + container_));
      }
    }
  }
  Drive();
}

void WatchCore::OnEvent(const ContainerEvent& event) {
  if (!have_baseline_) {
    if (early_.size() == kMaxEarlyEvents) {
      early_.pop_front();
    }
    early_.push_back(event);
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

void WatchCore::Drive() {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    // A status already reported (an event that predates the first inspect) is no transition:
    // it needs no inspect and no message.
    while (!inspecting_ && !transitions_.empty() && transitions_.front().health == last_sent_) {
      transitions_.pop_front();
    }
    if (!end_ && stopped_ && transitions_.empty() && !inspecting_) {
      End(grpc::Status::OK);
    }
    if (end_) {
      for (auto* call : {&opening_, &inspect_}) {
        if (*call) {
          actions.push_back([c = std::move(*call)] { c->Cancel(); });
          *call = nullptr;
        }
      }
      if (events_) {
        actions.push_back([c = std::move(events_)] { c->Cancel(); });
        events_ = nullptr;
      }
      // A clean end delivers what is queued first; a failure has nobody left to read it.
      if (!writing_ && (queue_.empty() || !end_->ok())) {
        finished_ = true;
        actions.push_back([r = reactor_, st = *end_] { r->Finish(st); });
      }
    } else {
      if (events_ && !reading_ && queue_.size() < kMaxQueue && transitions_.size() < kMaxQueue) {
        reading_ = true;
        actions.push_back([self = shared_from_this(), body = events_] {
          body->Read([self](const engine::Status& st, std::string_view data, bool eof) {
            self->OnEventsData(st, data, eof);
          });
        });
      }
      if (have_baseline_ && !inspecting_ && !transitions_.empty()) {
        inspecting_ = true;
        actions.push_back(
            [self = shared_from_this(), t = transitions_.front()] { self->Inspect(t); });
      }
    }
    if (!finished_ && !writing_ && !queue_.empty() && (!end_ || end_->ok())) {
      writing_ = true;
      actions.push_back([r = reactor_, m = &queue_.front()] { r->StartWrite(m); });
    }
  }
  for (auto& action : actions) {
    action();
  }
}

void WatchCore::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    } else if (!queue_.empty()) {
      queue_.pop_front();
    }
  }
  Drive();
}

void WatchCore::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the watch"));
  }
  Drive();
}

void WatchCore::OnDone() {
  std::vector<std::shared_ptr<engine::Call>> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    finished_ = true;
    calls = {std::move(opening_), std::move(inspect_), std::move(events_)};
  }
  for (auto& call : calls) {
    if (call) {
      call->Cancel();
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string HealthEventsFilter(const std::string& container) {
  // "container" is a prefix match on id and name daemon-side; events are checked against the
  // full id once the inspect has given it.
  return json{{"type", {"container"}},
              {"event", {"health_status", "die", "destroy"}},
              {"container", {container}}}
      .dump();
}

HealthVerdict HealthVerdictFromInspect(const json& inspect) {
  HealthVerdict verdict;
  verdict.id = GetString(inspect, "Id");
  const json* state = Member(inspect, "State");
  HealthFromJson(StateHealth(inspect), &verdict.health);
  verdict.container_status =
      ContainerStatusFromString(state != nullptr ? GetString(*state, "Status") : "");
  bool running = state != nullptr && GetBool(*state, "Running");
  if (!running) {
    verdict.kind = HealthVerdict::Kind::kNotRunning;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_NONE) {
    verdict.kind = HealthVerdict::Kind::kNoHealthcheck;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_HEALTHY) {
    verdict.kind = HealthVerdict::Kind::kHealthy;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_UNHEALTHY) {
    verdict.kind = HealthVerdict::Kind::kUnhealthy;
  } else {
    verdict.kind = HealthVerdict::Kind::kStarting;
  }
  return verdict;
}

std::string DescribeLastProbe(const v1::Health& health) {
  if (health.log_size() == 0) {
    return "";
  }
  const v1::HealthProbe& last = health.log(health.log_size() - 1);
  std::string output = last.output();
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r' ||
                             output.back() == ' ' || output.back() == '\t')) {
    output.pop_back();
  }
  if (output.size() > kMaxQuotedOutput) {
    output = output.substr(0, kMaxQuotedOutput) + "...";
  }
  std::string text = "last probe exited with " + std::to_string(last.exit_code());
  if (!output.empty()) {
    text += ": " + Quote(output);
  }
  return text;
}

grpc::ServerUnaryReactor* rpc::GetHealth(const RpcEnv& env, grpc::CallbackServerContext*,
                                         const v1::GetHealthRequest* request,
                                         v1::GetHealthResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  auto* reactor = new CallReactor();
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    reactor->Complete(std::move(st));
    return reactor;
  }
  auto state = reactor->state();
  reactor->Track(engine->Unary(InspectRequest(request->container(), unary_timeout),
                               [state, response](Result<ApiResponse> res) {
                                 if (!res.status().ok()) {
                                   return CallReactor::Complete(state, ToGrpcStatus(res.status()));
                                 }
                                 auto j = json::parse(res->body, nullptr, false);
                                 if (!j.is_object()) {
                                   return CallReactor::Complete(
                                       state,
                                       grpc::Status(grpc::StatusCode::INTERNAL,
                                                    "the daemon's inspect reply is not JSON"));
                                 }
                                 HealthVerdict verdict = HealthVerdictFromInspect(j);
                                 *response->mutable_health() = std::move(verdict.health);
                                 response->set_container_status(verdict.container_status);
                                 CallReactor::Complete(state, grpc::Status::OK);
                               }));
  return reactor;
}

grpc::ServerUnaryReactor* rpc::WaitHealthy(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                           const v1::WaitHealthyRequest* request,
                                           v1::WaitHealthyResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  auto* reactor = new CallReactor();
  WaitBound bound;
  grpc::Status st = ValidateContainerRef("container", request->container());
  if (st.ok()) {
    st = ComputeWaitBound(ctx, *request, &bound);
  }
  if (!st.ok()) {
    reactor->Complete(std::move(st));
    return reactor;
  }
  auto op =
      std::make_shared<WaitHealthyOp>(std::move(engine), reactor->state(), request->container(),
                                      response, std::move(bound), unary_timeout);
  op->Begin();
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchHealthResponse>* rpc::WatchHealth(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::WatchHealthRequest* request) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return new RejectedStream<v1::WatchHealthResponse>(std::move(st));
  }
  auto core = std::make_shared<WatchCore>(std::move(engine), request->container(), unary_timeout);
  auto* reactor = new CoreWriteReactor<v1::WatchHealthResponse, WatchCore>(core);
  core->Begin();
  return reactor;
}

}  // namespace dockline::server
