#include "server/rpc/run.h"

#include <google/protobuf/timestamp.pb.h>

#include <array>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/demux.h"
#include "engine/read_all.h"
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

// A daemon timestamp as (seconds, nanos): the text form drops trailing zeros, so it does not
// sort.
using TimeKey = std::pair<int64_t, int32_t>;

// How far the daemon may write an entry of one stream after a later-stamped entry of the
// other: the time between a copier goroutine stamping a line and taking the log's lock.
constexpr std::chrono::seconds kReorderWindow(1);

using RunReactor = grpc::ServerWriteReactor<v1::RunContainerResponse>;

// The run as a state machine. Engine callbacks (on engine strands, possibly two at once: the
// wait and the logs) and gRPC reactions (OnWriteDone, OnCancel) change state under mu_, then
// call Drive(), which decides the next steps under the lock and performs them after releasing
// it (StartWrite/Finish and engine calls are never made with mu_ held).
//
// Order (ENGINE_NOTES.md section 11.3): create; register wait?condition=next-exit and read its
// header; start; follow the logs with timestamps. dockerd 20.10 can end a follow stream before
// the end of the log, so a pass that ends before the exit is resumed from what was relayed,
// skipping what was already sent (see Mark). Once the wait has answered the log is
// complete (the daemon closes the log driver before it reports the exit), so the follow pass
// is dropped and one final non-follow pass from the last timestamp relays the rest. With
// auto-remove the container is removed only after that, so neither output nor the exit code
// can be lost.
class RunCore : public std::enable_shared_from_this<RunCore>, private engine::LogEntryParser::Sink {
 public:
  RunCore(std::shared_ptr<engine::Engine> engine, const v1::RunContainerRequest& request)
      : engine_(std::move(engine)),
        request_(request),
        tty_(request.spec().tty()),
        auto_remove_(request.spec().auto_remove()) {}

  void Attach(RunReactor* reactor) { reactor_ = reactor; }

  void Begin() { Drive(); }
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

  enum class Phase { kCreating, kRegisteringWait, kStarting, kRunning, kRemoving, kDone };
  using Actions = std::vector<std::function<void()>>;

  void Drive();
  void DriveLogs(Actions* actions);  // mu_ held
  void Fail(grpc::Status status);    // mu_ held
  void SetPhase(Phase phase) {       // mu_ held
    phase_ = phase;
    step_started_ = false;
  }

  void DoCreate();
  void DoRegisterWait();
  void DoStart();
  void DoRemove();
  void OpenLogPass(uint64_t generation, bool follow, std::string since);
  void ReadLogs(uint64_t generation, std::shared_ptr<engine::BodyStream> body);
  void TrackStep(std::shared_ptr<engine::Call> call);

  // Log parsing (LogEntryParser::Sink), mu_ held.
  void OnLogData(std::string_view data);
  void BeginResume();               // mu_ held
  std::string ResumeSince() const;  // mu_ held
  void OnEntry(StreamKind kind, std::string_view ts) override;
  void OnData(StreamKind kind, std::string_view data) override;
  void OnEntryEnd() override;
  void Emit(StreamKind kind, std::string_view data);
  v1::RunContainerResponse MakeChunk(StreamKind kind, std::string&& chunk);

  static void CleanupInBackground(std::shared_ptr<engine::Engine> engine, std::string id);

  std::shared_ptr<engine::Engine> engine_;
  const v1::RunContainerRequest request_;
  const bool tty_;
  const bool auto_remove_;
  RunReactor* reactor_ = nullptr;

  std::mutex mu_;
  Phase phase_ = Phase::kCreating;
  bool step_started_ = false;
  std::shared_ptr<engine::Call> step_;  // the unary step in flight, for cancel
  std::string id_;
  v1::RunContainerResponse started_;
  std::shared_ptr<engine::BodyStream> wait_;
  bool wait_done_ = false;
  int64_t exit_code_ = 0;
  std::string wait_error_;
  bool removed_ = false;

  // Log passes, each identified by a generation so that an abandoned pass's callbacks are
  // ignored.
  uint64_t generation_ = 0;
  std::shared_ptr<engine::BodyStream> logs_;
  bool logs_opening_ = false;
  bool logs_reading_ = false;
  bool pass_is_final_ = false;
  bool logs_complete_ = false;
  engine::LogEntryParser parser_{false, true};

  // What has been relayed, per stream, so that a resumed pass skips it. The daemon stamps
  // stdout and stderr entries in separate goroutines and writes them under one lock, so across
  // the two streams the log can be slightly out of time order, but within one stream it never
  // is: every entry of a stream older than its mark has been relayed. A single since=<last
  // timestamp> would lose an entry of the other stream stamped just before it but written
  // after it.
  struct Mark {
    std::optional<TimeKey> ts;  // of the last entry begun
    int same_ts = 0;            // entries begun with that timestamp
    bool complete = true;       // the last entry was relayed to its end
    size_t bytes = 0;           // bytes relayed of the last entry
  };
  // Where the current pass starts relaying again, per stream.
  struct Resume {
    bool active = false;
    TimeKey ts;
    int skip_full = 0;  // entries at `ts` relayed whole
    bool partial = false;
    size_t partial_bytes = 0;
  };
  std::array<Mark, 2> marks_;
  std::array<Resume, 2> resume_;
  // Per-entry state.
  size_t entry_stream_ = 0;
  std::string entry_ts_;
  bool skip_entry_ = false;
  size_t skip_bytes_ = 0;
  std::string chunk_ts_;  // timestamp of the first entry in the pending chunk

  // While it is full nothing more is read from the daemon, so a slow client holds at most a
  // few chunks in memory.
  OutputQueue<v1::RunContainerResponse> out_{
      [this](StreamKind kind, std::string&& chunk) { return MakeChunk(kind, std::move(chunk)); }};
  FlushTimer flush_timer_;
  std::optional<grpc::Status> failure_;
  bool finished_ = false;
};

size_t StreamIndex(StreamKind kind) { return kind == StreamKind::kStderr ? 1 : 0; }

std::optional<TimeKey> ParseTimeKey(std::string_view ts) {
  google::protobuf::Timestamp t;
  if (ts.empty() || !ParseDockerTime(ts, &t)) {
    return std::nullopt;
  }
  return TimeKey{t.seconds(), t.nanos()};
}

void RunCore::Fail(grpc::Status status) {
  if (!failure_) {
    failure_ = std::move(status);
  }
}

void RunCore::TrackStep(std::shared_ptr<engine::Call> call) {
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    step_ = call;
    cancel = failure_.has_value();
  }
  if (cancel) {
    call->Cancel();
  }
}

void RunCore::Drive() {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    if (failure_) {
      if (step_) {
        actions.push_back([c = step_] { c->Cancel(); });
      }
      if (logs_) {
        actions.push_back([c = logs_] { c->Cancel(); });
      }
      if (wait_) {
        actions.push_back([c = wait_] { c->Cancel(); });
      }
      if (!out_.writing()) {
        finished_ = true;
        if (auto_remove_ && !id_.empty() && !removed_) {
          // Nobody is left to see the output, but the container was asked to be ephemeral.
          actions.push_back([engine = engine_, id = id_] { CleanupInBackground(engine, id); });
        }
        actions.push_back([r = reactor_, st = *failure_] { r->Finish(st); });
      }
    } else {
      switch (phase_) {
        case Phase::kCreating:
          if (!step_started_) {
            step_started_ = true;
            actions.push_back([self = shared_from_this()] { self->DoCreate(); });
          }
          break;
        case Phase::kRegisteringWait:
          if (!step_started_) {
            step_started_ = true;
            actions.push_back([self = shared_from_this()] { self->DoRegisterWait(); });
          }
          break;
        case Phase::kStarting:
          if (!step_started_) {
            step_started_ = true;
            actions.push_back([self = shared_from_this()] { self->DoStart(); });
          }
          break;
        case Phase::kRunning:
          // Output gathers in the coalescer (OutputQueue's policy); a held chunk gets a timer.
          if (auto arm = flush_timer_.Arm(out_.FlushIfIdle(), engine_,
                                          [self = shared_from_this()] { self->OnFlushDue(); })) {
            actions.push_back(std::move(arm));
          }
          DriveLogs(&actions);
          if (logs_complete_ && wait_done_) {
            out_.Flush();
            if (auto_remove_) {
              SetPhase(Phase::kRemoving);
              step_started_ = true;
              actions.push_back([self = shared_from_this()] { self->DoRemove(); });
            } else {
              SetPhase(Phase::kDone);
            }
          }
          break;
        case Phase::kRemoving:
        case Phase::kDone:
          break;
      }
      if (phase_ == Phase::kDone && !step_started_) {
        step_started_ = true;
        if (!request_.detach()) {
          v1::RunContainerResponse msg;
          auto* exited = msg.mutable_exited();
          exited->set_exit_code(exit_code_);
          exited->set_error(wait_error_);
          exited->set_removed(removed_);
          out_.Push(std::move(msg));
        }
      }
      if (phase_ == Phase::kDone && out_.drained()) {
        finished_ = true;
        actions.push_back([r = reactor_] { r->Finish(grpc::Status::OK); });
      }
    }
    if (!finished_ && !failure_) {
      if (const v1::RunContainerResponse* m = out_.NextWrite()) {
        actions.push_back([r = reactor_, m] { r->StartWrite(m); });
      }
    }
  }
  for (auto& action : actions) {
    action();
  }
}

void RunCore::DriveLogs(Actions* actions) {
  if (logs_complete_) {
    return;
  }
  if (logs_ && wait_done_ && !pass_is_final_ && !tty_) {
    // The exit is known, so the log is complete: instead of waiting for the daemon to end the
    // follow stream (about a second), read what is left in one non-follow pass.
    actions->push_back([c = logs_] { c->Cancel(); });
    logs_ = nullptr;
    logs_reading_ = false;
  }
  if (logs_) {
    if (!logs_reading_ && out_.HasRoom()) {
      logs_reading_ = true;
      actions->push_back(
          [self = shared_from_this(), g = generation_, b = logs_] { self->ReadLogs(g, b); });
    }
    return;
  }
  if (logs_opening_) {
    return;
  }
  ++generation_;
  logs_opening_ = true;
  pass_is_final_ = wait_done_;
  parser_ = engine::LogEntryParser(tty_, !tty_);
  skip_entry_ = false;
  skip_bytes_ = 0;
  BeginResume();
  std::string since = tty_ ? "" : ResumeSince();
  actions->push_back([self = shared_from_this(), g = generation_, follow = !wait_done_,
                      since = std::move(since)] { self->OpenLogPass(g, follow, since); });
}

void RunCore::DoCreate() {
  CreateOptions options;
  options.api_version = engine_->ApiVersion();
  options.attach = !request_.detach();
  // An attached run removes the container itself once the output is drained (the daemon's
  // AutoRemove could delete the log before the last pass); a detached run leaves it to the
  // daemon.
  options.auto_remove = request_.detach() && auto_remove_;
  nlohmann::json body;
  grpc::Status st = BuildCreateBody(request_.spec(), options, &body);
  if (!st.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Fail(st);
    }
    return Drive();
  }
  ApiRequest req("POST", "/containers/create");
  if (!request_.spec().name().empty()) {
    req.Query("name", request_.spec().name());
  }
  req.body = body.dump();
  req.timeout = std::chrono::seconds(60);
  TrackStep(engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      auto j = nlohmann::json::parse(res.ok() ? res->body : "", nullptr, false);
      std::string id = GetString(j, "Id");
      if (!res.status().ok()) {
        self->Fail(ToGrpcStatus(res.status()));
      } else if (id.empty()) {
        self->Fail(grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's create reply has no Id"));
      } else {
        self->id_ = id;
        auto* started = self->started_.mutable_started();
        started->set_id(id);
        if (const auto* w = Member(j, "Warnings"); w && w->is_array()) {
          for (const auto& item : *w) {
            if (item.is_string()) {
              started->add_warnings(item.get<std::string>());
            }
          }
        }
        self->SetPhase(self->request_.detach() ? Phase::kStarting : Phase::kRegisteringWait);
      }
    }
    self->Drive();
  }));
}

void RunCore::DoRegisterWait() {
  ApiRequest req("POST", "/containers/" + EscapePathSegment(id_) + "/wait");
  req.Query("condition", "next-exit");
  auto self = shared_from_this();
  auto call = engine_->Stream(
      std::move(req), [self](Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (!res.status().ok()) {
            self->Fail(ToGrpcStatus(res.status()));
          } else {
            self->wait_ = body;
            self->SetPhase(Phase::kStarting);
          }
        }
        if (body && res.status().ok()) {
          engine::ReadAll(body, [self](const engine::Status& st, std::string data) {
            {
              std::lock_guard<std::mutex> lock(self->mu_);
              auto j = nlohmann::json::parse(data, nullptr, false);
              if (!st.ok()) {
                self->Fail(ToGrpcStatus(st));
              } else if (!Member(j, "StatusCode")) {
                self->Fail(grpc::Status(grpc::StatusCode::INTERNAL,
                                        "the daemon's wait reply is not understood: " + data));
              } else {
                self->wait_done_ = true;
                self->exit_code_ = GetInt(j, "StatusCode");
                if (const auto* err = Member(j, "Error"); err && err->is_object()) {
                  self->wait_error_ = GetString(*err, "Message");
                }
              }
            }
            self->Drive();
          });
        }
        self->Drive();
      });
  TrackStep(call);
}

void RunCore::DoStart() {
  ApiRequest req("POST", "/containers/" + EscapePathSegment(id_) + "/start");
  req.timeout = std::chrono::seconds(60);
  TrackStep(engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (!res.status().ok()) {
        self->Fail(ToGrpcStatus(res.status()));
      } else {
        self->out_.Push(self->started_);
        self->SetPhase(self->request_.detach() ? Phase::kDone : Phase::kRunning);
      }
    }
    self->Drive();
  }));
}

void RunCore::DoRemove() {
  ApiRequest req("DELETE", "/containers/" + EscapePathSegment(id_));
  req.Query("force", "1");
  req.Query("v", "1");  // like `docker run --rm`: anonymous volumes go too
  req.timeout = std::chrono::seconds(60);
  TrackStep(engine_->Unary(std::move(req), [self = shared_from_this()](Result<ApiResponse> res) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      // The exit code is known by now: a failed removal is reported as removed=false rather
      // than as an error that would hide it.
      self->removed_ = res.status().ok() || res.status().code() == engine::Code::kNotFound;
      self->SetPhase(Phase::kDone);
    }
    self->Drive();
  }));
}

void RunCore::OpenLogPass(uint64_t generation, bool follow, std::string since) {
  ApiRequest req("GET", "/containers/" + EscapePathSegment(id_) + "/logs");
  req.Query("stdout", "1").Query("stderr", "1").Query("follow", follow ? "1" : "0");
  if (!tty_) {
    req.Query("timestamps", "1");
  }
  if (!since.empty()) {
    req.Query("since", since);
  }
  auto call = engine_->Stream(
      std::move(req), [self = shared_from_this(), generation](
                          Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (generation != self->generation_) {
            if (body) {
              body->Cancel();
            }
            return;
          }
          self->logs_opening_ = false;
          if (!res.status().ok()) {
            self->Fail(ToGrpcStatus(res.status()));
          } else {
            self->logs_ = body;
          }
        }
        self->Drive();
      });
  std::lock_guard<std::mutex> lock(mu_);
  if (generation == generation_ && logs_opening_ && failure_) {
    call->Cancel();
  }
}

void RunCore::ReadLogs(uint64_t generation, std::shared_ptr<engine::BodyStream> body) {
  body->Read([self = shared_from_this(), generation](const engine::Status& st,
                                                     std::string_view data, bool eof) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (generation != self->generation_) {
        return;
      }
      self->logs_reading_ = false;
      if (!st.ok()) {
        self->Fail(ToGrpcStatus(st));
      } else {
        self->OnLogData(data);
        if (eof) {
          self->logs_ = nullptr;
          if (self->pass_is_final_ || self->tty_) {
            self->logs_complete_ = true;
          }
        }
      }
    }
    self->Drive();
  });
}

void RunCore::OnLogData(std::string_view data) {
  engine::Status st = parser_.Feed(data, *this);
  if (!st.ok()) {
    Fail(ToGrpcStatus(st));
  }
}

void RunCore::BeginResume() {
  for (size_t i = 0; i < marks_.size(); ++i) {
    const Mark& m = marks_[i];
    Resume& r = resume_[i];
    r = Resume();
    if (m.ts) {
      r.active = true;
      r.ts = *m.ts;
      r.partial = !m.complete;
      r.skip_full = m.complete ? m.same_ts : m.same_ts - 1;
      r.partial_bytes = m.complete ? 0 : m.bytes;
    }
  }
}

std::string RunCore::ResumeSince() const {
  std::optional<TimeKey> since;
  std::optional<TimeKey> latest;
  for (const Mark& m : marks_) {
    if (m.ts) {
      since = since ? std::min(*since, *m.ts) : *m.ts;
      latest = latest ? std::max(*latest, *m.ts) : *m.ts;
    }
  }
  if (!latest) {
    return "";
  }
  for (const Mark& m : marks_) {
    if (!m.ts) {
      // A stream with nothing relayed yet may have an entry stamped a moment before the other
      // stream's last one and written after it.
      TimeKey early{latest->first - kReorderWindow.count(), latest->second};
      since = std::min(*since, early);
    }
  }
  google::protobuf::Timestamp t;
  t.set_seconds(std::max<int64_t>(since->first, 0));
  t.set_nanos(since->second);
  return DockerTimeParam(t);
}

void RunCore::OnEntry(StreamKind kind, std::string_view timestamp) {
  entry_ts_ = std::string(timestamp);
  entry_stream_ = StreamIndex(kind);
  skip_entry_ = false;
  skip_bytes_ = 0;
  Mark& mark = marks_[entry_stream_];
  Resume& resume = resume_[entry_stream_];
  std::optional<TimeKey> ts = ParseTimeKey(timestamp);
  if (resume.active && ts) {
    if (*ts < resume.ts) {
      skip_entry_ = true;  // older than this stream's mark: relayed by an earlier pass
      return;
    }
    if (*ts == resume.ts) {
      if (resume.skip_full > 0) {
        --resume.skip_full;
        skip_entry_ = true;
        return;
      }
      if (resume.partial) {
        // The entry an earlier pass stopped inside: already counted, partly relayed.
        resume.active = false;
        skip_bytes_ = resume.partial_bytes;
        mark.bytes = resume.partial_bytes;
        mark.complete = false;
        return;
      }
    }
    resume.active = false;
  }
  if (request_.timestamps()) {
    // A chunk carries one timestamp, so with timestamps each entry is a chunk of its own.
    out_.Flush();
  }
  if (ts && mark.ts == ts) {
    ++mark.same_ts;
  } else {
    mark.ts = ts;
    mark.same_ts = 1;
  }
  mark.complete = false;
  mark.bytes = 0;
}

void RunCore::OnData(StreamKind kind, std::string_view data) {
  if (skip_entry_ || kind == StreamKind::kStdin) {
    return;
  }
  if (skip_bytes_ > 0) {
    size_t n = std::min(skip_bytes_, data.size());
    data.remove_prefix(n);
    skip_bytes_ -= n;
  }
  if (!data.empty()) {
    marks_[entry_stream_].bytes += data.size();
    Emit(kind, data);
  }
}

void RunCore::OnEntryEnd() {
  if (!skip_entry_) {
    marks_[entry_stream_].complete = true;
  }
}

void RunCore::Emit(StreamKind kind, std::string_view data) {
  if (!out_.coalescing()) {
    chunk_ts_ = entry_ts_;
  }
  out_.Add(kind, data);
}

// A chunk carries the timestamp of its first entry; what stays pending after it belongs to the
// current entry.
v1::RunContainerResponse RunCore::MakeChunk(StreamKind kind, std::string&& chunk) {
  v1::RunContainerResponse msg;
  auto* out = msg.mutable_output();
  out->set_stream(kind == StreamKind::kStderr ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
  out->set_data(std::move(chunk));
  if (request_.timestamps() && !chunk_ts_.empty()) {
    ParseDockerTime(chunk_ts_, out->mutable_timestamp());
  }
  chunk_ts_ = entry_ts_;
  return msg;
}

void RunCore::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    out_.WriteDone();
    if (!ok) {
      Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    }
  }
  Drive();
}

void RunCore::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the run"));
  }
  Drive();
}

void RunCore::OnDone() {
  std::lock_guard<std::mutex> lock(mu_);
  reactor_ = nullptr;
  finished_ = true;
}

void RunCore::CleanupInBackground(std::shared_ptr<engine::Engine> engine, std::string id) {
  ApiRequest wait("POST", "/containers/" + EscapePathSegment(id) + "/wait");
  wait.Query("condition", "not-running");
  auto remove = [engine, id] {
    ApiRequest del("DELETE", "/containers/" + EscapePathSegment(id));
    del.Query("force", "1").Query("v", "1");
    engine->Unary(std::move(del), [](Result<ApiResponse>) {});
  };
  engine->Stream(
      std::move(wait), [remove](Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
        if (!res.status().ok() || !body) {
          return remove();
        }
        engine::ReadAll(body, [remove](const engine::Status&, std::string) { remove(); });
      });
}

}  // namespace

grpc::ServerWriteReactor<v1::RunContainerResponse>* rpc::RunContainer(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::RunContainerRequest* request) {
  auto core = std::make_shared<RunCore>(env.api.engine_ptr(), *request);
  auto* reactor = new CoreWriteReactor<v1::RunContainerResponse, RunCore>(core);
  core->Begin();
  return reactor;
}

}  // namespace dockline::server
