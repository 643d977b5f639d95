#include "server/rpc/copy.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/codec/copy_codec.h"
#include "server/codec/field_error.h"
#include "server/codec/status_map.h"
#include "server/codec/validate.h"
#include "server/reactor/body_relay.h"
#include "server/reactor/stream_core.h"

namespace dockline::server {
namespace {

using OutResponse = v1::CopyFromContainerResponse;
using InRequest = v1::CopyToContainerRequest;

// CopyFromContainer: GET /containers/{id}/archive, the path stat from its header as the first
// message, then the tar relayed as the daemon sends it.
class CopyFromCore : public BodyRelayCore<CopyFromCore, OutResponse> {
 public:
  CopyFromCore(const engine::DockerApi& api, std::string container, std::string path)
      : BodyRelayCore(api.engine_ptr(), "copy",
                      [](engine::StreamKind, std::string&& chunk) {
                        OutResponse msg;
                        msg.set_data(std::move(chunk));
                        return msg;
                      }),
        api_(api),
        container_(std::move(container)),
        path_(std::move(path)) {}

 private:
  std::shared_ptr<engine::Call> OpenBody(engine::Engine::StreamCallback opened) override {
    return api_.GetArchive(container_, path_, std::move(opened));
  }

  void OnOpened(const engine::ApiResponse& header) override {
    OutResponse first;
    auto it = header.headers.find("x-docker-container-path-stat");
    if (it == header.headers.end() || !PathStatFromHeader(it->second, first.mutable_stat())) {
      return Fail(ToGrpcStatus(engine::Status(
          engine::Code::kProtocolError, "the daemon's archive reply has no readable path stat")));
    }
    out_.Push(std::move(first));
  }

  void OnBody(std::string_view data, bool) override { out_.Add(engine::StreamKind::kStdout, data); }

  const engine::DockerApi api_;
  const std::string container_;
  const std::string path_;
};

// CopyToContainer: reads the target, opens PUT /containers/{id}/archive, then hands the
// daemon one client message at a time: the next message is read only when the engine asks for
// the next piece, i.e. once the previous one was written, so an upload of any size holds one
// message. The client's half-close ends the body; the daemon's reply ends the call.
//
// Thread rules. gRPC reactions (OnReadDone, OnCancel, OnDone) and engine callbacks (the
// source's requests, the reply) change state under mu_ and then Drive(), which decides the next
// StartRead or the Finish under mu_ and makes it after releasing it; a reactor call counts
// until it has returned and Finish waits for the count to be zero, so nothing reaches a reactor
// that OnDone has deleted. The core outlives the reactor while engine callbacks hold it.
class CopyToCore : public std::enable_shared_from_this<CopyToCore> {
 public:
  using Reactor = grpc::ServerReadReactor<InRequest>;

  explicit CopyToCore(const engine::DockerApi& api) : api_(api) {}

  void Attach(Reactor* reactor) {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = reactor;
    want_read_ = true;  // the target
  }

  void OnReadDone(bool ok) {
    engine::Engine::BodyPiece give;
    std::string piece;
    bool start = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (finish_) {
        // Ended meanwhile (a cancel, the daemon's early reply): nothing more goes anywhere.
      } else if (!call_started_) {
        if (grpc::Status st = TargetProblem(ok); !st.ok()) {
          finish_ = std::move(st);
        } else {
          call_started_ = true;
          start = true;
        }
      } else if (ok && message_.has_target()) {
        finish_ = InvalidField("target", "only the first message may carry the target");
      } else {
        give = std::move(pending_);
        pending_ = nullptr;
        piece = std::move(*message_.mutable_data());
        eof_ = !ok;
      }
    }
    if (start) {
      StartUpload();
    } else if (give) {
      give(engine::Status::Ok(), std::move(piece), !ok);
    }
    Drive();
  }

  // Drive then closes the daemon connection mid-body (the daemon discards the upload) and
  // answers the piece the engine asked for, so that nothing waits on a client that is gone.
  void OnCancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finish_) {
        finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the copy");
      }
    }
    Drive();
  }

  void OnDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    finished_ = true;
  }

  void Drive() {
    std::vector<std::function<void()>> actions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        return;
      }
      if (finish_) {
        // Whatever ended the call, the daemon connection goes with it (a no-op once it replied).
        if (auto call = std::exchange(call_, nullptr)) {
          actions.push_back([call] { call->Cancel(); });
        }
        if (auto give = std::exchange(pending_, nullptr)) {
          actions.push_back(
              [give] { give(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false); });
        }
        if (reactor_calls_ == 0) {
          finished_ = true;
          actions.push_back([r = reactor_, st = *finish_] { r->Finish(st); });
        }
      } else if (want_read_ && !reading_) {
        want_read_ = false;
        reading_ = true;
        ++reactor_calls_;
        actions.push_back([self = shared_from_this(), r = reactor_] {
          r->StartRead(&self->message_);
          bool again = false;
          {
            std::lock_guard<std::mutex> lock(self->mu_);
            again = --self->reactor_calls_ == 0 && self->finish_.has_value();
          }
          if (again) {
            self->Drive();
          }
        });
      }
    }
    for (auto& action : actions) {
      action();
    }
  }

 private:
  // mu_ held. Why the first message cannot start the upload, or OK.
  grpc::Status TargetProblem(bool ok) {
    if (!ok) {
      return InvalidField("target", "the stream ended before its first message named the target");
    }
    if (!message_.has_target()) {
      return InvalidField("target", "the first message must carry the target, before any data");
    }
    const v1::CopyTarget& target = message_.target();
    if (grpc::Status st = ValidateContainerRef("target.container", target.container()); !st.ok()) {
      return st;
    }
    return ValidateContainerPath("target.path", target.path());
  }

  void StartUpload() {
    v1::CopyTarget target;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = message_.target();
    }
    std::weak_ptr<CopyToCore> weak = shared_from_this();
    auto source = [weak](engine::Engine::BodyPiece next) {
      auto self = weak.lock();
      if (!self) {
        return next(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false);
      }
      self->AskPiece(std::move(next));
    };
    auto done = [self = shared_from_this()](const engine::Status& st) {
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->pending_ = nullptr;
        if (!self->finish_) {
          self->finish_ = ToGrpcStatus(st);
        }
      }
      self->Drive();
    };
    std::shared_ptr<engine::Call> call =
        api_.PutArchive(target.container(), target.path(),
                        {.no_overwrite_dir_non_dir = target.no_overwrite_dir_non_dir(),
                         .copy_uid_gid = target.copy_uid_gid()},
                        std::move(source), std::move(done));
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      call_ = call;
      cancel = finish_.has_value();
    }
    if (cancel) {
      call->Cancel();
    }
  }

  // The engine wants the next piece: the next client message, or the end once the client has
  // half-closed.
  void AskPiece(engine::Engine::BodyPiece next) {
    bool eof = false;
    bool gone = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gone = finish_.has_value();
      eof = eof_;
      if (!gone && !eof) {
        pending_ = std::move(next);
        want_read_ = true;
      }
    }
    if (gone) {
      return next(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false);
    }
    if (eof) {
      return next(engine::Status::Ok(), {}, true);
    }
    Drive();
  }

  const engine::DockerApi api_;
  std::mutex mu_;
  // Guarded by mu_. message_ is written by gRPC only while a read is outstanding.
  Reactor* reactor_ = nullptr;
  InRequest message_;
  bool want_read_ = false;
  bool reading_ = false;
  bool call_started_ = false;
  bool eof_ = false;
  int reactor_calls_ = 0;
  std::optional<grpc::Status> finish_;
  bool finished_ = false;
  engine::Engine::BodyPiece pending_;
  std::shared_ptr<engine::Call> call_;
};

class CopyToReactor : public grpc::ServerReadReactor<InRequest> {
 public:
  explicit CopyToReactor(std::shared_ptr<CopyToCore> core) : core_(std::move(core)) {
    core_->Attach(this);
  }
  void OnReadDone(bool ok) override { core_->OnReadDone(ok); }
  void OnCancel() override { core_->OnCancel(); }
  void OnDone() override {
    core_->OnDone();
    delete this;
  }

 private:
  std::shared_ptr<CopyToCore> core_;
};

}  // namespace

grpc::ServerWriteReactor<OutResponse>* rpc::CopyFromContainer(
    const RpcEnv& env, grpc::CallbackServerContext*, const v1::CopyFromContainerRequest* request) {
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return new RejectedStream<OutResponse>(std::move(st));
  }
  if (grpc::Status st = ValidateContainerPath("path", request->path()); !st.ok()) {
    return new RejectedStream<OutResponse>(std::move(st));
  }
  return StartStream<CopyFromCore>(env.api, request->container(), request->path());
}

grpc::ServerReadReactor<InRequest>* rpc::CopyToContainer(const RpcEnv& env,
                                                         grpc::CallbackServerContext*,
                                                         v1::CopyToContainerResponse*) {
  auto core = std::make_shared<CopyToCore>(env.api);
  auto* reactor = new CopyToReactor(core);
  core->Drive();
  return reactor;
}

}  // namespace dockline::server
