#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockline/v1/dockline.pb.h"
#include "engine/docker_api.h"
#include "server/codec/events_codec.h"

// The one follower of the daemon's GET /events stream, used by WatchEvents, WaitHealthy,
// WatchHealth and StreamLogs' wait for a created container to start.

namespace dockline::server {

// Cuts a byte stream into newline-terminated lines (the events body: one JSON object per line,
// lines split across reads at any byte). Lines longer than `max_line` are an error, so a
// daemon that never sends a newline cannot grow memory without bound.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = 1 << 20) : max_line_(max_line) {}
  // Calls `on_line` for every complete line (without the '\n'; blank lines skipped). False
  // when a line grew past the limit.
  bool Feed(std::string_view data, const std::function<void(std::string_view)>& on_line);

 private:
  size_t max_line_;
  std::string partial_;
};

// GET /events with `query`, read on demand (nothing is read until Read is called, so a
// follower whose consumer is slow stops reading from the daemon), cut into lines by a bounded
// LineSplitter and parsed into DaemonEvents (lines that are not JSON objects are skipped).
//
// Thread rules: Open's and Read's callbacks run on engine threads, once each, without any lock
// of the follower held, and must not block. One Read may be outstanding. Cancel() may be called
// from any thread at any time: it closes the daemon connection, and a callback that has not run
// yet then gets Code::kCancelled.
class EventFollower : public engine::Call, public std::enable_shared_from_this<EventFollower> {
 public:
  using OpenCallback = std::function<void(const engine::Status& status)>;
  // The events of one read (possibly none). `eof`: the daemon ended the stream (an error of the
  // follower's own choosing is the caller's: the wait it served did not end). A line too long
  // to be an event is Code::kProtocolError.
  using ReadCallback =
      std::function<void(const engine::Status& status, std::vector<DaemonEvent> events, bool eof)>;

  // Subscribes; `opened` runs once the daemon has answered the request (from then on no event
  // is missed) or with the failure. `timeout` zero: none.
  static std::shared_ptr<EventFollower> Open(const engine::DockerApi& api,
                                             const engine::EventsQuery& query,
                                             std::chrono::milliseconds timeout,
                                             OpenCallback opened);

  void Read(ReadCallback cb);
  void Cancel() override;

 private:
  EventFollower() = default;
  void OnOpen(engine::Result<engine::ApiResponse> res, std::shared_ptr<engine::BodyStream> body,
              const OpenCallback& opened);

  std::mutex mu_;
  bool cancelled_ = false;
  std::shared_ptr<engine::Call> request_;
  std::shared_ptr<engine::BodyStream> body_;
  LineSplitter lines_;  // used by the one read callback in flight
};

}  // namespace dockline::server
