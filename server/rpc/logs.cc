#include "server/rpc/logs.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/demux.h"
#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/log_resume.h"
#include "server/codec/output_chunk.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/events/event_follower.h"
#include "server/reactor/stream_core.h"

namespace dockline::server {
namespace {

using engine::StreamKind;
using Response = v1::StreamLogsResponse;

grpc::Status ValidateLogsRequest(const v1::StreamLogsRequest& req) {
  if (grpc::Status st = ValidateContainerRef("container", req.container()); !st.ok()) {
    return st;
  }
  if (!req.stdout() && req.has_stdout() && !req.stderr() && req.has_stderr()) {
    return InvalidField("stdout, stderr", "choose at least one stream");
  }
  if (grpc::Status st = ValidateTimeWindow(req.has_since() ? &req.since() : nullptr,
                                           req.has_until() ? &req.until() : nullptr);
      !st.ok()) {
    return st;
  }
  if (req.has_tail() && req.tail() < 0) {
    return InvalidField("tail", "must not be negative (leave it unset for all lines)");
  }
  if (!req.resume_from().empty()) {
    if (req.has_since()) {
      return InvalidField("since",
                          "leave it unset with resume_from: the cursor says where to go on");
    }
    if (req.has_tail()) {
      return InvalidField("tail",
                          "leave it unset with resume_from: the cursor says where to go on");
    }
  }
  return grpc::Status::OK;
}

// One StreamLogs call, on the shared StreamCore. Thread rules are the core's: engine callbacks
// (engine threads) and gRPC reactions change the state below under mu_ and then drive; Step
// decides under mu_ and its actions (engine calls, reads) run after mu_ is released. The log
// parser's Sink methods run from ReadLogs' callback with mu_ held, because they write into out_.
//
// Steps: inspect (TTY or not, log driver, state); for a follow on a created container, subscribe
// to its start/destroy events, inspect again (it may have started meanwhile) and wait for the
// start, because dockerd ends a follow on a created container at once; then read the logs.
class LogsCore : public StreamCore<LogsCore, Response>, private engine::LogEntryParser::Sink {
 public:
  LogsCore(const engine::DockerApi& api, const v1::StreamLogsRequest& request,
           std::optional<LogCursor> resume_from)
      : StreamCore(api.engine_ptr(), "log stream",
                   [this](StreamKind kind, std::string&& chunk) {
                     return MakeChunk(kind, std::move(chunk));
                   }),
        api_(api),
        request_(request),
        resume_from_(std::move(resume_from)) {}

 private:
  enum class Phase { kInspecting, kAwaitingStart, kOpening, kStreaming };

  void Step(Actions* actions) override;                               // mu_ held
  void OnEnd(const grpc::Status& status, Actions* actions) override;  // mu_ held

  void Inspect();
  void OnInspected(const engine::Result<engine::ContainerDocument>& res);  // mu_ held
  void Subscribe();
  void Reinspect();
  void ReadEvents(std::shared_ptr<EventFollower> events);
  void OnEvents(const engine::Status& st, const std::vector<DaemonEvent>& events,
                bool eof);  // mu_ held
  void OpenLogs();
  void OnLogsOpened(const engine::Status& st, std::shared_ptr<engine::BodyStream> body);  // mu_
  void ReadLogs(std::shared_ptr<engine::BodyStream> body);

  void OnEntry(StreamKind kind, std::string_view timestamp) override;
  void OnData(StreamKind kind, std::string_view data) override;
  void OnEntryEnd() override {
    if (!tty_) {
      resume_.OnEntryEnd();
    }
  }
  Response MakeChunk(StreamKind kind, std::string&& chunk);

  const engine::DockerApi api_;
  const v1::StreamLogsRequest request_;
  const std::optional<LogCursor> resume_from_;

  // Guarded by mu_.
  Phase phase_ = Phase::kInspecting;
  std::optional<Phase> entered_;  // the phase Step last saw
  // The engine calls OnEnd cancels, one slot each (see Hold).
  std::shared_ptr<engine::Call> inspect_;
  std::shared_ptr<engine::Call> reinspect_;
  std::shared_ptr<engine::Call> events_;  // the EventFollower while waiting for the start
  std::shared_ptr<engine::Call> logs_call_;
  std::string id_;
  std::string driver_;
  bool tty_ = false;
  bool events_open_ = false;
  bool events_reading_ = false;
  bool reinspected_ = false;
  std::shared_ptr<engine::BodyStream> logs_;
  bool reading_ = false;
  std::optional<engine::LogEntryParser> parser_;
  ChunkStamps stamps_;
  // The cursors. Without a TTY the daemon is always asked for timestamps: they are the marks.
  LogResume resume_;
  uint64_t emitted_ = 0;   // bytes of output handed to chunks
  std::string tty_since_;  // with a TTY: where the position counts from ...
  uint64_t tty_base_ = 0;  // ... and the bytes before this call's first one
  uint64_t tty_skip_ = 0;  // bytes still to skip to reach the resumed position
  bool cursors_ = true;    // false: a TTY log read with tail, which has no stable position
};

Response LogsCore::MakeChunk(StreamKind kind, std::string&& chunk) {
  emitted_ += chunk.size();
  Response msg;
  stamps_.Fill(kind, std::move(chunk), request_.timestamps(), msg.mutable_output());
  if (cursors_) {
    LogCursor cursor;
    cursor.container_id = id_;
    if (tty_) {
      cursor.tty = true;
      cursor.since = tty_since_;
      cursor.bytes = tty_base_ + emitted_;
    } else {
      cursor.marks = resume_.MarksAt(emitted_);
    }
    msg.mutable_output()->set_cursor(EncodeLogCursor(cursor));
  }
  return msg;
}

void LogsCore::Step(Actions* actions) {
  // Each phase's first step is taken once, when the phase is entered.
  const bool entering = !entered_ || *entered_ != phase_;
  entered_ = phase_;
  switch (phase_) {
    case Phase::kInspecting:
      if (entering) {
        actions->push_back([self = self()] { self->Inspect(); });
      }
      return;
    case Phase::kAwaitingStart:
      if (entering) {
        actions->push_back([self = self()] { self->Subscribe(); });
      }
      if (events_open_ && events_) {
        // Subscribed: look again, in case it started before the subscription; and read the
        // events one batch at a time.
        if (!reinspected_) {
          reinspected_ = true;
          actions->push_back([self = self()] { self->Reinspect(); });
        }
        if (!events_reading_) {
          events_reading_ = true;
          actions->push_back([self = self(), events = std::static_pointer_cast<EventFollower>(
                                                 events_)] { self->ReadEvents(events); });
        }
      }
      return;
    case Phase::kOpening:
      if (entering) {
        if (events_) {
          actions->push_back([e = events_] { e->Cancel(); });
          events_ = nullptr;
        }
        actions->push_back([self = self()] { self->OpenLogs(); });
      }
      return;
    case Phase::kStreaming:
      if (logs_ && !reading_ && out_.HasRoom()) {
        reading_ = true;
        actions->push_back([self = self(), b = logs_] { self->ReadLogs(b); });
      }
      return;
  }
}

void LogsCore::OnEnd(const grpc::Status& status, Actions* actions) {
  if (status.ok()) {
    return;  // the logs ended; nothing else is open
  }
  for (const auto& call :
       {inspect_, reinspect_, events_, logs_call_, std::shared_ptr<engine::Call>(logs_)}) {
    if (call) {
      actions->push_back([call] { call->Cancel(); });
    }
  }
}

void LogsCore::Inspect() {
  Hold(&inspect_,
       api_.InspectContainer(request_.container(),
                             [self = self()](engine::Result<engine::ContainerDocument> res) {
                               self->Update([&] { self->OnInspected(res); });
                             }));
}

void LogsCore::OnInspected(const engine::Result<engine::ContainerDocument>& res) {
  inspect_ = nullptr;  // done: a follow would otherwise keep the finished call for its whole life
  if (!res.ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  const nlohmann::json& j = res->json;
  id_ = GetString(j, "Id");
  const nlohmann::json* config = Member(j, "Config");
  tty_ = config != nullptr && GetBool(*config, "Tty");
  const nlohmann::json* host = Member(j, "HostConfig");
  const nlohmann::json* log_config = host ? Member(*host, "LogConfig") : nullptr;
  driver_ = log_config ? GetString(*log_config, "Type") : "";
  if (id_.empty()) {
    return Fail(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect reply has no Id"));
  }
  if (resume_from_ && resume_from_->container_id != id_) {
    return Fail(InvalidField("resume_from", "a cursor of container " +
                                                resume_from_->container_id.substr(0, 12) +
                                                ", not of " + request_.container()));
  }
  if (resume_from_ && resume_from_->tty != tty_) {
    return Fail(InvalidField("resume_from",
                             "a cursor of another log (the container's TTY "
                             "setting does not match it)"));
  }
  if (driver_ == "none") {
    return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "container " + request_.container() +
                                 " uses the \"none\" log driver, which keeps no logs to read"));
  }
  const nlohmann::json* state = Member(j, "State");
  std::string status = state ? GetString(*state, "Status") : "";
  if (request_.follow() && status == "created") {
    // dockerd would end the follow at once with nothing; wait for the start instead (the
    // re-inspect after subscribing lands here too, and keeps waiting for the event).
    phase_ = Phase::kAwaitingStart;
    return;
  }
  phase_ = Phase::kOpening;
}

void LogsCore::Subscribe() {
  engine::EventsQuery query;
  query.filters = {{"type", nlohmann::json::array({"container"})},
                   {"container", nlohmann::json::array({id_})},
                   {"event", nlohmann::json::array({"start", "destroy"})}};
  auto opened = [self = self()](const engine::Status& st) {
    self->Update([&] {
      if (!st.ok()) {
        return self->Fail(ToGrpcStatus(st));
      }
      self->events_open_ = true;
    });
  };
  Hold(&events_, EventFollower::Open(api_, query, std::chrono::milliseconds(0), opened));
  Drive();  // `opened` may have run before the follower was held: Step reads once it is both
}

void LogsCore::Reinspect() {
  Hold(&reinspect_,
       api_.InspectContainer(id_, [self = self()](engine::Result<engine::ContainerDocument> res) {
         self->Update([&] {
           if (self->phase_ == Phase::kAwaitingStart) {
             self->OnInspected(res);
           }
         });
       }));
}

void LogsCore::ReadEvents(std::shared_ptr<EventFollower> events) {
  events->Read(
      [self = self()](const engine::Status& st, std::vector<DaemonEvent> events, bool eof) {
        self->Update([&] { self->OnEvents(st, events, eof); });
      });
}

void LogsCore::OnEvents(const engine::Status& st, const std::vector<DaemonEvent>& events,
                        bool eof) {
  events_reading_ = false;
  if (phase_ != Phase::kAwaitingStart) {
    return;  // started meanwhile (the re-inspect saw it); the follower is being closed
  }
  if (!st.ok()) {
    return Fail(ToGrpcStatus(st));
  }
  for (const DaemonEvent& daemon_event : events) {
    const ContainerEvent event = ToContainerEvent(daemon_event);
    if (event.kind == ContainerEvent::Kind::kStart) {
      phase_ = Phase::kOpening;
    } else if (event.kind == ContainerEvent::Kind::kDestroy) {
      Fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "container " + request_.container() + " was removed before it started"));
    }
  }
  if (eof && phase_ == Phase::kAwaitingStart) {
    Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the daemon ended its event stream while waiting for the start"));
  }
}

void LogsCore::OpenLogs() {
  engine::LogsQuery query;
  query.want_stdout = !request_.has_stdout() || request_.stdout();
  query.want_stderr = !request_.has_stderr() || request_.stderr();
  query.follow = request_.follow();
  query.timestamps = !tty_ || request_.timestamps();
  query.tail = request_.has_tail() ? std::to_string(request_.tail()) : "all";
  if (request_.has_since()) {
    query.since = DockerTimeParam(request_.since());
  }
  if (tty_) {
    cursors_ = !request_.has_tail();
    tty_since_ = query.since;
    if (resume_from_) {
      query.since = tty_since_ = resume_from_->since;
      tty_base_ = tty_skip_ = resume_from_->bytes;
    }
  } else if (resume_from_) {
    resume_.Restore(resume_from_->marks);
    resume_.BeginPass();
    query.since = resume_.Since();
  }
  if (request_.has_until()) {
    query.until = DockerTimeParam(request_.until());
  }
  Hold(&logs_call_, api_.ContainerLogs(id_, query,
                                       [self = self()](engine::Result<engine::ApiResponse> res,
                                                       std::shared_ptr<engine::BodyStream> body) {
                                         bool unwanted = false;
                                         self->Update([&] {
                                           unwanted = self->ended();
                                           if (!unwanted) {
                                             self->OnLogsOpened(res.status(), body);
                                           }
                                         });
                                         if (unwanted && body) {
                                           body->Cancel();
                                         }
                                       }));
}

void LogsCore::OnLogsOpened(const engine::Status& st, std::shared_ptr<engine::BodyStream> body) {
  if (!st.ok()) {
    if (st.http_status() == 501 ||
        st.message().find("does not support reading") != std::string::npos) {
      return Fail(
          grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                       "container " + request_.container() + " uses the \"" + driver_ +
                           "\" log driver, which cannot be read: " + StatusMessage(st.message())));
    }
    return Fail(ToGrpcStatus(st));
  }
  logs_ = std::move(body);
  parser_.emplace(tty_, !tty_ || request_.timestamps());
  phase_ = Phase::kStreaming;
}

void LogsCore::ReadLogs(std::shared_ptr<engine::BodyStream> body) {
  body->Read([self = self()](const engine::Status& st, std::string_view data, bool eof) {
    self->Update([&] {
      self->reading_ = false;
      if (!st.ok()) {
        return self->Fail(ToGrpcStatus(st));
      }
      if (engine::Status ps = self->parser_->Feed(data, *self); !ps.ok()) {
        return self->Fail(ToGrpcStatus(ps));
      }
      if (eof) {
        self->logs_ = nullptr;
        // A cut stream still delivers what came before the cut; its status says the rest is lost.
        self->Complete(ToGrpcStatus(self->parser_->Finish()));
      }
    });
  });
}

void LogsCore::OnEntry(StreamKind kind, std::string_view timestamp) {
  stamps_.BeginEntry(timestamp);
  if ((tty_ || resume_.OnEntry(kind, timestamp)) && request_.timestamps()) {
    // A chunk carries one timestamp, so with timestamps each entry is a chunk of its own.
    out_.Flush();
  }
}

void LogsCore::OnData(StreamKind kind, std::string_view data) {
  if (kind == StreamKind::kStdin) {
    return;
  }
  if (tty_) {
    const size_t skip = std::min<uint64_t>(tty_skip_, data.size());
    data.remove_prefix(skip);
    tty_skip_ -= skip;
  } else {
    data = resume_.OnData(data);
  }
  if (data.empty()) {
    return;
  }
  stamps_.BeforeAdd(out_.coalescing());
  out_.Add(kind, data);
}

}  // namespace

grpc::ServerWriteReactor<Response>* rpc::StreamLogs(const RpcEnv& env, grpc::CallbackServerContext*,
                                                    const v1::StreamLogsRequest* request) {
  if (grpc::Status st = ValidateLogsRequest(*request); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  std::optional<LogCursor> resume_from;
  if (!request->resume_from().empty()) {
    resume_from.emplace();
    if (grpc::Status st = DecodeLogCursor(request->resume_from(), "resume_from", &*resume_from);
        !st.ok()) {
      return new RejectedStream<Response>(std::move(st));
    }
  }
  return StartStream<LogsCore>(env.api, *request, std::move(resume_from));
}

}  // namespace dockline::server
