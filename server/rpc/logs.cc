#include "server/rpc/logs.h"

#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/demux.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/legacy_call_reactor.h"
#include "server/reactor/output_queue.h"

namespace dockline::server {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using engine::StreamKind;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status ValidateLogsRequest(const v1::StreamLogsRequest& req) {
  if (grpc::Status st = ValidateContainerRef("container", req.container()); !st.ok()) {
    return st;
  }
  if (!req.stdout() && req.has_stdout() && !req.stderr() && req.has_stderr()) {
    return Invalid("stdout, stderr: choose at least one stream");
  }
  for (auto [name, present, ts] : {std::make_tuple("since", req.has_since(), &req.since()),
                                   std::make_tuple("until", req.has_until(), &req.until())}) {
    if (present && (ts->seconds() < 0 || ts->nanos() < 0 || ts->nanos() > 999999999)) {
      return Invalid(std::string(name) + ": must be a valid time after 1970");
    }
  }
  if (req.has_since() && req.has_until() &&
      std::make_pair(req.since().seconds(), req.since().nanos()) >
          std::make_pair(req.until().seconds(), req.until().nanos())) {
    return Invalid("since: must not be after until");
  }
  if (req.has_tail() && req.tail() < 0) {
    return Invalid("tail: must not be negative (leave it unset for all lines)");
  }
  return grpc::Status::OK;
}

using LogsReactor = grpc::ServerWriteReactor<v1::StreamLogsResponse>;

// One StreamLogs call. Thread rules as in run_reactor.cc: engine callbacks (engine strands) and
// gRPC reactions change state under mu_ and call Drive(), which decides under the lock and acts
// after releasing it.
//
// Steps: inspect (TTY or not, log driver, state); for a follow on a created container, subscribe
// to its start/destroy events, inspect again (it may have started meanwhile) and wait for the
// start, because dockerd ends a follow on a created container at once; then read the logs.
class LogsCore : public std::enable_shared_from_this<LogsCore>,
                 private engine::LogEntryParser::Sink {
 public:
  LogsCore(std::shared_ptr<engine::Engine> engine, const v1::StreamLogsRequest& request)
      : engine_(std::move(engine)), request_(request) {}

  void Attach(LogsReactor* reactor) { reactor_ = reactor; }
  void Begin();
  void OnWriteDone(bool ok);
  void OnCancel();
  void OnDone();

 private:
  void OnFlushDue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      flush_timer_.Fired();
    }
    Drive();
  }

  enum class Phase { kInspecting, kAwaitingStart, kOpening, kStreaming, kDone };
  using Actions = std::vector<std::function<void()>>;

  void Drive();
  void Fail(grpc::Status status) {  // mu_ held
    if (!failure_) {
      failure_ = std::move(status);
    }
  }
  void Track(std::shared_ptr<engine::Call> call);  // the step to cancel with the RPC

  void Inspect();
  void OnInspected(Result<ApiResponse>& res);  // mu_ held
  void Subscribe();
  void ReadEvents(std::shared_ptr<engine::BodyStream> events);
  void OpenLogs();
  void ReadLogs(std::shared_ptr<engine::BodyStream> body);

  void OnEntry(StreamKind kind, std::string_view timestamp) override;
  void OnData(StreamKind kind, std::string_view data) override;
  void OnEntryEnd() override {}
  v1::StreamLogsResponse MakeChunk(StreamKind kind, std::string&& chunk);

  std::shared_ptr<engine::Engine> engine_;
  const v1::StreamLogsRequest request_;
  LogsReactor* reactor_ = nullptr;

  std::mutex mu_;
  Phase phase_ = Phase::kInspecting;
  bool step_started_ = false;
  std::vector<std::shared_ptr<engine::Call>> calls_;
  std::string id_;
  std::string driver_;
  bool tty_ = false;
  bool subscribed_ = false;
  std::shared_ptr<engine::BodyStream> events_;
  std::string event_buffer_;
  std::shared_ptr<engine::BodyStream> logs_;
  bool reading_ = false;
  std::optional<engine::LogEntryParser> parser_;
  std::string entry_ts_;
  std::string chunk_ts_;  // timestamp of the first entry in the pending chunk

  // While it is full nothing more is read from the daemon.
  OutputQueue<v1::StreamLogsResponse> out_{
      [this](StreamKind kind, std::string&& chunk) { return MakeChunk(kind, std::move(chunk)); }};
  FlushTimer flush_timer_;
  std::optional<grpc::Status> failure_;
  bool finished_ = false;
};

void LogsCore::Begin() {
  grpc::Status st = ValidateLogsRequest(request_);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    Fail(st);
  }
  Drive();
}

void LogsCore::Track(std::shared_ptr<engine::Call> call) {
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(call);
    cancel = failure_.has_value() || finished_;
  }
  if (cancel) {
    call->Cancel();
  }
}

void LogsCore::Drive() {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    if (failure_) {
      for (auto& call : calls_) {
        actions.push_back([call] { call->Cancel(); });
      }
      calls_.clear();
      if (!out_.writing()) {
        finished_ = true;
        actions.push_back([r = reactor_, st = *failure_] { r->Finish(st); });
      }
    } else {
      switch (phase_) {
        case Phase::kInspecting:
          if (!step_started_) {
            step_started_ = true;
            actions.push_back([self = shared_from_this()] { self->Inspect(); });
          }
          break;
        case Phase::kAwaitingStart:
          if (!subscribed_) {
            subscribed_ = true;
            actions.push_back([self = shared_from_this()] { self->Subscribe(); });
          }
          break;
        case Phase::kOpening:
          if (!step_started_) {
            step_started_ = true;
            if (events_) {
              actions.push_back([e = events_] { e->Cancel(); });
              events_ = nullptr;
            }
            actions.push_back([self = shared_from_this()] { self->OpenLogs(); });
          }
          break;
        case Phase::kStreaming:
          if (auto arm = flush_timer_.Arm(out_.FlushIfIdle(), engine_,
                                          [self = shared_from_this()] { self->OnFlushDue(); })) {
            actions.push_back(std::move(arm));
          }
          if (logs_ && !reading_ && out_.HasRoom()) {
            reading_ = true;
            actions.push_back([self = shared_from_this(), b = logs_] { self->ReadLogs(b); });
          }
          break;
        case Phase::kDone:
          out_.Flush();
          if (out_.drained()) {
            finished_ = true;
            actions.push_back([r = reactor_] { r->Finish(grpc::Status::OK); });
          }
          break;
      }
    }
    if (!finished_ && !failure_) {
      if (const v1::StreamLogsResponse* m = out_.NextWrite()) {
        actions.push_back([r = reactor_, m] { r->StartWrite(m); });
      }
    }
  }
  for (auto& action : actions) {
    action();
  }
}

void LogsCore::Inspect() {
  ApiRequest req("GET", "/containers/" + EscapePathSegment(request_.container()) + "/json");
  req.timeout = std::chrono::seconds(60);
  Track(engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->OnInspected(res);
    }
    self->Drive();
  }));
}

void LogsCore::OnInspected(Result<ApiResponse>& res) {
  if (!res.status().ok()) {
    return Fail(ToGrpcStatus(res.status()));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  id_ = GetString(j, "Id");
  const nlohmann::json* config = Member(j, "Config");
  tty_ = config != nullptr && GetBool(*config, "Tty");
  const nlohmann::json* host = Member(j, "HostConfig");
  const nlohmann::json* log_config = host ? Member(*host, "LogConfig") : nullptr;
  driver_ = log_config ? GetString(*log_config, "Type") : "";
  if (id_.empty()) {
    return Fail(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect reply has no Id"));
  }
  if (driver_ == "none") {
    return Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "container " + request_.container() +
                                 " uses the \"none\" log driver, which keeps no logs to read"));
  }
  const nlohmann::json* state = Member(j, "State");
  std::string status = state ? GetString(*state, "Status") : "";
  if (request_.follow() && status == "created") {
    // dockerd would end the follow at once with nothing; wait for the start instead.
    if (phase_ == Phase::kAwaitingStart) {
      return;  // the re-inspect after subscribing: keep waiting for the event
    }
    phase_ = Phase::kAwaitingStart;
    return;
  }
  phase_ = Phase::kOpening;
  step_started_ = false;
}

void LogsCore::Subscribe() {
  ApiRequest req("GET", "/events");
  nlohmann::json filters = {
      {"type", {"container"}}, {"container", {id_}}, {"event", {"start", "destroy"}}};
  req.Query("filters", filters.dump());
  Track(engine_->Stream(
      std::move(req), [self = shared_from_this()](Result<ApiResponse> res,
                                                  std::shared_ptr<engine::BodyStream> body) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (!res.status().ok()) {
            self->Fail(ToGrpcStatus(res.status()));
          } else {
            self->events_ = body;
            self->calls_.push_back(body);
          }
        }
        if (body && res.status().ok()) {
          self->ReadEvents(body);
          // Subscribed: look again, in case it started before the subscription.
          ApiRequest again("GET", "/containers/" + EscapePathSegment(self->id_) + "/json");
          again.timeout = std::chrono::seconds(60);
          self->Track(self->engine_->Unary(std::move(again), [self](Result<ApiResponse> res) {
            {
              std::lock_guard<std::mutex> lock(self->mu_);
              if (self->phase_ == Phase::kAwaitingStart) {
                self->OnInspected(res);
              }
            }
            self->Drive();
          }));
        }
        self->Drive();
      }));
}

void LogsCore::ReadEvents(std::shared_ptr<engine::BodyStream> events) {
  events->Read([self = shared_from_this(), events](const engine::Status& st, std::string_view data,
                                                   bool eof) {
    bool again = false;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->phase_ != Phase::kAwaitingStart || self->failure_) {
        return;
      }
      if (!st.ok()) {
        self->Fail(ToGrpcStatus(st));
      } else if (eof) {
        self->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the daemon ended its event stream while waiting for the start"));
      } else {
        self->event_buffer_.append(data);
        size_t newline;
        while ((newline = self->event_buffer_.find('\n')) != std::string::npos) {
          auto event =
              nlohmann::json::parse(self->event_buffer_.substr(0, newline), nullptr, false);
          self->event_buffer_.erase(0, newline + 1);
          std::string action = GetString(event, "Action");
          if (action == "start") {
            self->phase_ = Phase::kOpening;
            self->step_started_ = false;
          } else if (action == "destroy") {
            self->Fail(grpc::Status(
                grpc::StatusCode::NOT_FOUND,
                "container " + self->request_.container() + " was removed before it started"));
          }
        }
        again = self->phase_ == Phase::kAwaitingStart && !self->failure_;
      }
    }
    if (again) {
      self->ReadEvents(events);
    }
    self->Drive();
  });
}

void LogsCore::OpenLogs() {
  ApiRequest req("GET", "/containers/" + EscapePathSegment(id_) + "/logs");
  bool want_stdout = !request_.has_stdout() || request_.stdout();
  bool want_stderr = !request_.has_stderr() || request_.stderr();
  req.Query("stdout", want_stdout ? "1" : "0").Query("stderr", want_stderr ? "1" : "0");
  req.Query("follow", request_.follow() ? "1" : "0");
  req.Query("timestamps", request_.timestamps() ? "1" : "0");
  req.Query("tail", request_.has_tail() ? std::to_string(request_.tail()) : "all");
  if (request_.has_since()) {
    req.Query("since", DockerTimeParam(request_.since()));
  }
  if (request_.has_until()) {
    req.Query("until", DockerTimeParam(request_.until()));
  }
  Track(engine_->Stream(
      std::move(req), [self = shared_from_this()](Result<ApiResponse> res,
                                                  std::shared_ptr<engine::BodyStream> body) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (!res.status().ok()) {
            const engine::Status& st = res.status();
            if (st.http_status() == 501 ||
                st.message().find("does not support reading") != std::string::npos) {
              self->Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                      "container " + self->request_.container() + " uses the \"" +
                                          self->driver_ +
                                          "\" log driver, which cannot be read: " + st.message()));
            } else {
              self->Fail(ToGrpcStatus(st));
            }
          } else {
            self->logs_ = body;
            self->calls_.push_back(body);
            self->parser_.emplace(self->tty_, self->request_.timestamps());
            self->phase_ = Phase::kStreaming;
          }
        }
        self->Drive();
      }));
}

void LogsCore::ReadLogs(std::shared_ptr<engine::BodyStream> body) {
  body->Read(
      [self = shared_from_this()](const engine::Status& st, std::string_view data, bool eof) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->reading_ = false;
          if (!st.ok()) {
            self->Fail(ToGrpcStatus(st));
          } else {
            if (engine::Status ps = self->parser_->Feed(data, *self); !ps.ok()) {
              self->Fail(ToGrpcStatus(ps));
            } else if (eof) {
              self->logs_ = nullptr;
              self->phase_ = Phase::kDone;
            }
          }
        }
        self->Drive();
      });
}

void LogsCore::OnEntry(StreamKind /*kind*/, std::string_view timestamp) {
  entry_ts_ = std::string(timestamp);
  if (request_.timestamps()) {
    // A chunk carries one timestamp, so with timestamps each entry is a chunk of its own.
    out_.Flush();
  }
}

void LogsCore::OnData(StreamKind kind, std::string_view data) {
  if (kind == StreamKind::kStdin) {
    return;
  }
  if (!out_.coalescing()) {
    chunk_ts_ = entry_ts_;
  }
  out_.Add(kind, data);
}

v1::StreamLogsResponse LogsCore::MakeChunk(StreamKind kind, std::string&& chunk) {
  v1::StreamLogsResponse msg;
  auto* out = msg.mutable_output();
  out->set_stream(kind == StreamKind::kStderr ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
  out->set_data(std::move(chunk));
  if (!chunk_ts_.empty()) {
    ParseDockerTime(chunk_ts_, out->mutable_timestamp());
  }
  chunk_ts_ = entry_ts_;
  return msg;
}

void LogsCore::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    out_.WriteDone();
    if (!ok) {
      Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    }
  }
  Drive();
}

void LogsCore::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the log stream"));
  }
  Drive();
}

void LogsCore::OnDone() {
  std::lock_guard<std::mutex> lock(mu_);
  reactor_ = nullptr;
  finished_ = true;
}

}  // namespace

grpc::ServerWriteReactor<v1::StreamLogsResponse>* rpc::StreamLogs(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::StreamLogsRequest* request) {
  auto core = std::make_shared<LogsCore>(env.api.engine_ptr(), *request);
  auto* reactor = new CoreWriteReactor<v1::StreamLogsResponse, LogsCore>(core);
  core->Begin();
  return reactor;
}

}  // namespace dockline::server
