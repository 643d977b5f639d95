#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "dockline/v1/dockline.pb.h"
#include "engine/docker_api.h"
#include "server/codec/field_error.h"
#include "server/codec/image_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/stream_core.h"

namespace dockline::server {

// What a pull asks the daemon for (engine::PullQuery): the reference tagged (see
// TaggedReference), and the credentials in their header form.
using PullTarget = engine::PullQuery;

inline PullTarget MakePullTarget(const std::string& image, const std::string& platform,
                                 const v1::RegistryAuth& auth) {
  return PullTarget{TaggedReference(image), platform, RegistryAuthHeader(auth)};
}

// The pull policy of RunContainer/CreateContainer, and the spec's image when the policy may
// pull it: INVALID_ARGUMENT naming the field, or OK.
inline grpc::Status ValidatePullPolicy(v1::PullPolicy policy, const std::string& image) {
  if (!v1::PullPolicy_IsValid(policy)) {
    return InvalidField("pull", "unknown pull policy " + std::to_string(policy) +
                                    "; use PULL_POLICY_MISSING, PULL_POLICY_ALWAYS or "
                                    "PULL_POLICY_NEVER");
  }
  if (policy == v1::PULL_POLICY_NEVER) {
    return grpc::Status::OK;
  }
  return ValidateImageRef("spec.image", image);
}

// A pull's error reply as the pull's status: dockerd answers some "no such image" failures
// with a 500, and a reference without a repository as a bad request.
inline engine::Status PullReplyStatus(const engine::Status& status) {
  if (status.code() == engine::Code::kDaemonError) {
    return PullFailure(status.message());
  }
  return status;
}

// A pull read to its end without relaying the progress: CreateContainer's. `done` gets the
// pull's failure (its error line's included), or ok.
std::shared_ptr<engine::Call> PullQuietly(const engine::DockerApi& api, const PullTarget& target,
                                          engine::StatusDone done);

// The pull as the first stage of a streaming core (PullImage's whole work; RunContainer's
// before it creates), as `policy` says (MISSING asks the daemon first and pulls on 404; ALWAYS
// pulls; NEVER does nothing), with each progress line relayed through
// the core's queue as Derived::ProgressMessage(progress), and the daemon read only while the
// queue has room. A failure fails the core. Thread rules are StreamCore's: the Step* functions
// run with mu_ held; the engine calls they decide run as actions after it is released.
template <typename Derived, typename Response>
class PullStage : public StreamCore<Derived, Response> {
  using Core = StreamCore<Derived, Response>;

 public:
  using typename Core::Actions;

 protected:
  PullStage(const engine::DockerApi& api, PullTarget target, v1::PullPolicy policy,
            std::string what, typename OutputQueue<Response>::MakeChunk make_chunk)
      : Core(api.engine_ptr(), std::move(what), std::move(make_chunk)),
        pull_api_(api),
        pull_target_(std::move(target)),
        pull_state_(policy == v1::PULL_POLICY_NEVER    ? State::kDone
                    : policy == v1::PULL_POLICY_ALWAYS ? State::kPull
                                                       : State::kCheck) {}

  // mu_ held. True once the image is there (pulled, or no pull was needed); until then, decides
  // the stage's next action.
  bool StepPull(Actions* actions) {
    std::shared_ptr<PullStage> self = this->self();
    switch (pull_state_) {
      case State::kCheck:
        pull_state_ = State::kChecking;
        actions->push_back([self] { self->CheckImage(); });
        return false;
      case State::kPull:
        pull_state_ = State::kOpening;
        pulled_ = true;
        actions->push_back([self] { self->OpenPull(); });
        return false;
      case State::kReading:
        if (pull_body_ && !pull_reading_ && this->out_.HasRoom()) {
          pull_reading_ = true;
          actions->push_back([self, body = pull_body_] { self->ReadPull(body); });
        }
        return false;
      case State::kChecking:
      case State::kOpening:
        return false;
      case State::kDone:
        return true;
    }
    return false;
  }

  // mu_ held, from the core's OnEnd: closes what the stage still has open.
  void CancelPull(Actions* actions) {
    for (const auto& call : {check_call_, pull_call_, std::shared_ptr<engine::Call>(pull_body_)}) {
      if (call) {
        actions->push_back([call] { call->Cancel(); });
      }
    }
  }

  // mu_ held. Whether the stage pulled (rather than finding the image there).
  bool pulled() const { return pulled_; }
  // mu_ held. The repository digest the pull reported, if any.
  const std::string& pulled_digest() const { return parser_.digest(); }
  const PullTarget& pull_target() const { return pull_target_; }
  const engine::DockerApi& pull_api() const { return pull_api_; }

 private:
  enum class State { kCheck, kChecking, kPull, kOpening, kReading, kDone };

  void CheckImage() {
    std::shared_ptr<PullStage> self = this->self();
    this->Hold(&check_call_,
               pull_api_.InspectImage(
                   pull_target_.image, [self](engine::Result<engine::ContainerDocument> res) {
                     self->Update([&] {
                       if (res.ok()) {
                         self->pull_state_ = State::kDone;
                       } else if (res.status().code() == engine::Code::kNotFound) {
                         self->pull_state_ = State::kPull;
                       } else {
                         self->Fail(ToGrpcStatus(res.status()));
                       }
                     });
                   }));
  }

  void OpenPull() {
    // The callback holds the core, so `this` outlives it.
    this->Hold(&pull_call_, pull_api_.PullImage(
                                pull_target_, this->OnBodyOpened(
                                                  [this](std::shared_ptr<engine::BodyStream> body) {
                                                    pull_body_ = std::move(body);
                                                    pull_state_ = State::kReading;
                                                  },
                                                  &PullReplyStatus)));
  }

  void ReadPull(std::shared_ptr<engine::BodyStream> body) {
    std::shared_ptr<PullStage> self = this->self();
    body->Read([self](const engine::Status& st, std::string_view data, bool eof) {
      self->Update([&] {
        self->pull_reading_ = false;
        if (!st.ok()) {
          return self->Fail(ToGrpcStatus(st));
        }
        engine::Status ps = self->parser_.Feed(data, [&](v1::PullProgress&& progress) {
          self->out_.Push(Derived::ProgressMessage(std::move(progress)));
        });
        if (ps.ok() && eof) {
          ps = self->parser_.Finish();
        }
        if (!ps.ok()) {
          return self->Fail(ToGrpcStatus(ps));
        }
        if (eof) {
          self->pull_body_ = nullptr;
          self->pull_state_ = State::kDone;
        }
      });
    });
  }

  const engine::DockerApi pull_api_;
  const PullTarget pull_target_;

  // Guarded by mu_.
  State pull_state_;
  bool pulled_ = false;
  bool pull_reading_ = false;
  std::shared_ptr<engine::Call> check_call_;
  std::shared_ptr<engine::Call> pull_call_;
  std::shared_ptr<engine::BodyStream> pull_body_;
  PullProgressParser parser_;
};

}  // namespace dockline::server
