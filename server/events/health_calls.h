#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "engine/docker_api.h"
#include "server/events/event_follower.h"

namespace dockline::server {

// The engine side of WaitHealthy and WatchHealth: one container's event subscription (health,
// die and destroy) and the one inspect in flight (each inspects one at a time). As a Call,
// Cancel() closes both at once; whatever is pending then answers with kCancelled, and what is
// started after it is closed at once.
//
// Thread rules: mu_ guards only the handles and flags below and is never held across an engine
// call or a callback, because a cancel may run a callback that calls back in. The owner's
// callbacks run on engine threads, each once. Subscribe once; Read only after `opened` said OK
// and one at a time; Inspect from any thread.
class HealthCalls : public engine::Call, public std::enable_shared_from_this<HealthCalls> {
 public:
  HealthCalls(engine::DockerApi api, std::string container);

  // `timeout` zero: none. `opened` runs once: with the failure, or when the daemon has answered
  // (no event is missed from then on) and Read may be called.
  void Subscribe(std::chrono::milliseconds timeout, EventFollower::OpenCallback opened);
  void Read(EventFollower::ReadCallback cb);
  void Inspect(engine::Done<engine::ContainerDocument> done);
  void Cancel() override;

 private:
  // The open's answer (`follower` null) and Open's handle come in either order; true for the
  // second of the two. A handle that comes after Cancel() is closed at once.
  bool Arrive(std::shared_ptr<EventFollower> follower);

  const engine::DockerApi api_;
  const std::string container_;

  std::mutex mu_;
  bool closed_ = false;
  bool opened_ = false;
  std::shared_ptr<EventFollower> follower_;
  // The inspect in flight. Its answer may come before InspectContainer has returned the handle:
  // a handle is kept only while started_ is ahead of answered_ for it.
  std::shared_ptr<engine::Call> inspect_;
  uint64_t started_ = 0;
  uint64_t answered_ = 0;
};

}  // namespace dockline::server
