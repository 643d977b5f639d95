#include "server/events/health_calls.h"

#include <utility>

#include "server/codec/health_codec.h"

namespace dockline::server {

HealthCalls::HealthCalls(engine::DockerApi api, std::string container)
    : api_(std::move(api)), container_(std::move(container)) {}

void HealthCalls::Subscribe(std::chrono::milliseconds timeout, EventFollower::OpenCallback opened) {
  engine::EventsQuery query;
  query.filters = HealthEventsFilter(container_);
  auto follower = EventFollower::Open(
      api_, query, timeout, [self = shared_from_this(), opened](const engine::Status& st) {
        if (!st.ok() || self->Arrive(nullptr)) {
          opened(st);
        }
      });
  if (Arrive(std::move(follower))) {
    opened(engine::Status::Ok());
  }
}

bool HealthCalls::Arrive(std::shared_ptr<EventFollower> follower) {
  bool cancel = false;
  bool both = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (follower) {
      follower_ = follower;
      cancel = closed_;
    } else {
      opened_ = true;
    }
    both = follower_ && opened_;
  }
  if (cancel) {
    follower->Cancel();
  }
  return both;
}

void HealthCalls::Read(EventFollower::ReadCallback cb) {
  std::shared_ptr<EventFollower> follower;
  {
    std::lock_guard<std::mutex> lock(mu_);
    follower = follower_;
  }
  follower->Read(std::move(cb));
}

void HealthCalls::Inspect(engine::Done<engine::ContainerDocument> done) {
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = ++started_;
  }
  auto call =
      api_.InspectContainer(container_, [self = shared_from_this(), seq, done = std::move(done)](
                                            engine::Result<engine::ContainerDocument> res) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->answered_ = seq;
          self->inspect_ = nullptr;
        }
        done(std::move(res));
      });
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (answered_ < seq) {  // else it has answered already (and a later one may be in flight)
      inspect_ = call;
    }
    cancel = closed_;
  }
  if (cancel) {
    call->Cancel();
  }
}

void HealthCalls::Cancel() {
  std::shared_ptr<engine::Call> follower;
  std::shared_ptr<engine::Call> inspect;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    follower = follower_;  // kept: a Read after this answers kCancelled
    inspect = std::move(inspect_);
  }
  for (const auto& call : {follower, inspect}) {
    if (call) {
      call->Cancel();
    }
  }
}

}  // namespace dockline::server
