#include "server/rpc/run.h"

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "engine/demux.h"
#include "server/codec/log_resume.h"
#include "server/codec/output_chunk.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/stream_core.h"
#include "server/rpc/pull_stage.h"

namespace dockline::server {
namespace {

using engine::StreamKind;
using Response = v1::RunContainerResponse;

// One RunContainer call, on the shared StreamCore. Thread rules are the core's: engine
// callbacks (on engine threads, possibly two at once: the wait and the logs) and gRPC reactions
// change the state below under mu_ and then drive; Step decides under mu_ and its actions (engine
// calls, body reads) run after mu_ is released. The log parser's Sink methods run from ReadLogs'
// callback with mu_ held, because they write into out_.
//
// Order (ENGINE_NOTES.md section 11.3): the pull the policy asks for (PullStage, its progress
// relayed before `started`); create; register wait?condition=next-exit (the header
// means no exit can be missed); start; follow the logs with timestamps. dockerd 20.10 can end a
// follow stream before the end of the log, so a pass that ends before the exit is resumed from
// what was relayed, skipping what was already sent (LogResume). Once the wait has answered the
// log is complete (the daemon closes the log driver before it reports the exit), so the follow
// pass is dropped and one final non-follow pass from the marks relays the rest. With auto-remove
// the container is removed only after that, so neither output nor the exit code can be lost.
class RunCore : public PullStage<RunCore, Response>, private engine::LogEntryParser::Sink {
 public:
  RunCore(const engine::DockerApi& api, const v1::RunContainerRequest& request,
          nlohmann::json create_body)
      : PullStage(api, MakePullTarget(request.spec().image(), "", request.registry_auth()),
                  request.pull(), "run",
                  [this](StreamKind kind, std::string&& chunk) {
                    return MakeChunk(kind, std::move(chunk));
                  }),
        api_(api),
        request_(request),
        create_body_(std::move(create_body)),
        tty_(request.spec().tty()),
        auto_remove_(request.spec().auto_remove()) {}

 private:
  enum class Phase { kCreating, kRegisteringWait, kStarting, kRunning, kRemoving, kDone };

  void Step(Actions* actions) override;                               // mu_ held
  void OnEnd(const grpc::Status& status, Actions* actions) override;  // mu_ held
  void SetPhase(Phase phase) {                                        // mu_ held
    phase_ = phase;
    step_started_ = false;
  }
  void StepOnce(Actions* actions, void (RunCore::*step)());  // mu_ held
  void DriveLogs(Actions* actions);                          // mu_ held

  void DoCreate();
  void DoRegisterWait();
  void DoStart();
  void DoRemove();
  void OpenLogPass(uint64_t generation, bool follow, std::string since);
  void ReadLogs(uint64_t generation, std::shared_ptr<engine::BodyStream> body);

  // Log parsing (LogEntryParser::Sink), mu_ held.
  void OnEntry(StreamKind kind, std::string_view timestamp) override;
  void OnData(StreamKind kind, std::string_view data) override;
  void OnEntryEnd() override { resume_.OnEntryEnd(); }
  Response MakeChunk(StreamKind kind, std::string&& chunk) {
    emitted_ += chunk.size();
    Response msg;
    stamps_.Fill(kind, std::move(chunk), request_.timestamps(), msg.mutable_output());
    // With a TTY there is one pass from the beginning: the position is the bytes relayed.
    LogCursor cursor;
    cursor.container_id = id_;
    cursor.tty = tty_;
    cursor.bytes = emitted_;
    if (!tty_) {
      cursor.marks = resume_.MarksAt(emitted_);
    }
    msg.mutable_output()->set_cursor(EncodeLogCursor(cursor));
    return msg;
  }

 public:
  static Response ProgressMessage(v1::PullProgress&& progress) {
    Response msg;
    *msg.mutable_pull() = std::move(progress);
    return msg;
  }

 private:
  // Waits for the container to stop and removes it; nobody waits for the outcome.
  static void CleanupInBackground(const engine::DockerApi& api, const std::string& id);

  const engine::DockerApi api_;
  const v1::RunContainerRequest request_;
  const nlohmann::json create_body_;
  const bool tty_;
  const bool auto_remove_;

  // Guarded by mu_.
  Phase phase_ = Phase::kCreating;
  bool step_started_ = false;
  // The engine calls OnEnd cancels, one slot each (see Hold): a step's slot is never overwritten
  // by a later step, whatever order Hold and the callbacks run in.
  std::shared_ptr<engine::Call> create_call_;
  std::shared_ptr<engine::Call> wait_;
  std::shared_ptr<engine::Call> start_call_;
  std::shared_ptr<engine::Call> remove_call_;
  std::shared_ptr<engine::Call> log_call_;  // the current pass's request
  std::string id_;
  Response started_;
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
  grpc::Status lost_;  // set when a log pass was cut inside a frame
  engine::LogEntryParser parser_{false, true};
  LogResume resume_;
  ChunkStamps stamps_;
  uint64_t emitted_ = 0;  // bytes of output handed to chunks, for their cursors
};

void RunCore::StepOnce(Actions* actions, void (RunCore::*step)()) {
  if (!step_started_) {
    step_started_ = true;
    actions->push_back([self = self(), step] { ((*self).*step)(); });
  }
}

void RunCore::Step(Actions* actions) {
  if (phase_ == Phase::kRunning) {
    // Output gathers in the core's coalescer (OutputQueue's policy) while the logs are read.
    DriveLogs(actions);
    if (logs_complete_ && wait_done_) {
      out_.Flush();
      SetPhase(auto_remove_ ? Phase::kRemoving : Phase::kDone);
    }
  }
  switch (phase_) {
    case Phase::kCreating:
      if (!StepPull(actions)) {
        return;
      }
      return StepOnce(actions, &RunCore::DoCreate);
    case Phase::kRegisteringWait:
      return StepOnce(actions, &RunCore::DoRegisterWait);
    case Phase::kStarting:
      return StepOnce(actions, &RunCore::DoStart);
    case Phase::kRemoving:
      return StepOnce(actions, &RunCore::DoRemove);
    case Phase::kRunning:
      return;
    case Phase::kDone:
      if (!request_.detach()) {
        Response msg;
        auto* exited = msg.mutable_exited();
        exited->set_exit_code(exit_code_);
        exited->set_error(wait_error_);
        exited->set_removed(removed_);
        out_.Push(std::move(msg));
      }
      return Complete(lost_);
  }
}

void RunCore::OnEnd(const grpc::Status& status, Actions* actions) {
  if (status.ok()) {
    return;  // every call has answered
  }
  CancelPull(actions);
  for (const auto& call : {create_call_, wait_, start_call_, remove_call_, log_call_,
                           std::shared_ptr<engine::Call>(logs_)}) {
    if (call) {
      actions->push_back([call] { call->Cancel(); });
    }
  }
  if (auto_remove_ && !id_.empty() && !removed_) {
    // Nobody is left to see the output, but the container was asked to be ephemeral.
    actions->push_back([api = api_, id = id_] { CleanupInBackground(api, id); });
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
      actions->push_back([self = self(), g = generation_, b = logs_] { self->ReadLogs(g, b); });
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
  resume_.BeginPass();
  std::string since = tty_ ? "" : resume_.Since();
  actions->push_back([self = self(), g = generation_, follow = !wait_done_,
                      since = std::move(since)] { self->OpenLogPass(g, follow, since); });
}

void RunCore::DoCreate() {
  auto created = [self = self()](engine::Result<engine::CreatedContainer> res) {
    bool orphan = false;
    self->Update([&] {
      if (!res.ok()) {
        return self->Fail(ToGrpcStatus(res.status()));
      }
      if (self->ended()) {
        // Created just after the call ended: nobody will start it, and it was to be ephemeral.
        orphan = self->auto_remove_;
        return;
      }
      self->id_ = res->id;
      auto* started = self->started_.mutable_started();
      started->set_id(res->id);
      for (const std::string& warning : res->warnings) {
        started->add_warnings(warning);
      }
      self->SetPhase(self->request_.detach() ? Phase::kStarting : Phase::kRegisteringWait);
    });
    if (orphan) {
      CleanupInBackground(self->api_, res->id);
    }
  };
  Hold(&create_call_,
       api_.CreateContainer(request_.spec().name(), create_body_, std::move(created)));
}

void RunCore::DoRegisterWait() {
  auto self = this->self();
  Hold(&wait_, api_.WaitContainer(
                   id_, "next-exit", std::chrono::milliseconds(0),
                   [self] { self->Update([&] { self->SetPhase(Phase::kStarting); }); },
                   [self](engine::Result<engine::ExitStatus> res) {
                     self->Update([&] {
                       if (!res.ok()) {
                         return self->Fail(ToGrpcStatus(res.status()));
                       }
                       self->wait_done_ = true;
                       self->exit_code_ = res->exit_code;
                       self->wait_error_ = res->error;
                     });
                   }));
}

void RunCore::DoStart() {
  Hold(&start_call_, api_.StartContainer(id_, [self = self()](const engine::Status& st) {
    self->Update([&] {
      if (!st.ok()) {
        return self->Fail(ToGrpcStatus(st));
      }
      self->out_.Push(self->started_);
      self->SetPhase(self->request_.detach() ? Phase::kDone : Phase::kRunning);
    });
  }));
}

void RunCore::DoRemove() {
  // Like `docker run --rm`: anonymous volumes go too.
  Hold(&remove_call_,
       api_.RemoveContainer(id_, true, true, [self = self()](const engine::Status& st) {
         self->Update([&] {
           // The exit code is known by now: a failed removal is reported as removed=false rather
           // than as an error that would hide it.
           self->removed_ = st.ok() || st.code() == engine::Code::kNotFound;
           self->SetPhase(Phase::kDone);
         });
       }));
}

void RunCore::OpenLogPass(uint64_t generation, bool follow, std::string since) {
  engine::LogsQuery query;
  query.follow = follow;
  query.timestamps = !tty_;
  query.since = std::move(since);
  Hold(&log_call_,
       api_.ContainerLogs(id_, query,
                          [self = self(), generation](engine::Result<engine::ApiResponse> res,
                                                      std::shared_ptr<engine::BodyStream> body) {
                            bool unwanted = false;
                            self->Update([&] {
                              unwanted = generation != self->generation_ || self->ended();
                              if (unwanted) {
                                return;
                              }
                              self->logs_opening_ = false;
                              if (!res.status().ok()) {
                                return self->Fail(ToGrpcStatus(res.status()));
                              }
                              self->logs_ = body;
                            });
                            if (unwanted && body) {
                              body->Cancel();
                            }
                          }));
}

void RunCore::ReadLogs(uint64_t generation, std::shared_ptr<engine::BodyStream> body) {
  body->Read(
      [self = self(), generation](const engine::Status& st, std::string_view data, bool eof) {
        self->Update([&] {
          if (generation != self->generation_) {
            return;
          }
          self->logs_reading_ = false;
          if (!st.ok()) {
            return self->Fail(ToGrpcStatus(st));
          }
          if (engine::Status ps = self->parser_.Feed(data, *self); !ps.ok()) {
            return self->Fail(ToGrpcStatus(ps));
          }
          if (eof) {
            self->logs_ = nullptr;
            // A follow pass cut inside an entry is resumed by the next pass (LogResume); the
            // final pass has none after it, so a cut there lost output. The run still goes on
            // to its exit code (and --rm); the call then ends with the loss rather than OK.
            if (engine::Status cut = self->parser_.Finish(); !cut.ok() && self->pass_is_final_) {
              self->lost_ = ToGrpcStatus(cut);
            }
            if (self->pass_is_final_ || self->tty_) {
              self->logs_complete_ = true;
            }
          }
        });
      });
}

void RunCore::OnEntry(StreamKind kind, std::string_view timestamp) {
  stamps_.BeginEntry(timestamp);
  if (resume_.OnEntry(kind, timestamp) && request_.timestamps()) {
    // A chunk carries one timestamp, so with timestamps each entry is a chunk of its own.
    out_.Flush();
  }
}

void RunCore::OnData(StreamKind kind, std::string_view data) {
  if (kind == StreamKind::kStdin) {
    return;
  }
  data = resume_.OnData(data);
  if (data.empty()) {
    return;
  }
  stamps_.BeforeAdd(out_.coalescing());
  out_.Add(kind, data);
}

void RunCore::CleanupInBackground(const engine::DockerApi& api, const std::string& id) {
  api.WaitContainer(id, "not-running", std::chrono::milliseconds(0), nullptr,
                    [api, id](engine::Result<engine::ExitStatus>) {
                      api.RemoveContainer(id, true, true, [](const engine::Status&) {});
                    });
}

}  // namespace

grpc::ServerWriteReactor<Response>* rpc::RunContainer(const RpcEnv& env,
                                                      grpc::CallbackServerContext*,
                                                      const v1::RunContainerRequest* request) {
  CreateOptions options;
  options.api_version = env.api.ApiVersion();
  options.attach = !request->detach();
  // An attached run removes the container itself once the output is drained (the daemon's
  // AutoRemove could delete the log before the last pass); a detached run leaves it to the
  // daemon.
  options.auto_remove = request->detach() && request->spec().auto_remove();
  nlohmann::json body;
  if (grpc::Status st = BuildCreateBody(request->spec(), options, &body); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  if (grpc::Status st = ValidatePullPolicy(request->pull(), request->spec().image()); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  return StartStream<RunCore>(env.api, *request, std::move(body));
}

}  // namespace dockline::server
