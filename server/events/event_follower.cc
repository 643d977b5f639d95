#include "server/events/event_follower.h"

#include <utility>

#include "server/codec/json_util.h"

namespace dockline::server {

using json = nlohmann::json;

bool LineSplitter::Feed(std::string_view data,
                        const std::function<void(std::string_view)>& on_line) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + data.size() > max_line_) {
        return false;
      }
      partial_.append(data);
      return true;
    }
    std::string_view piece = data.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      return false;  // the same limit whether the line came in one read or in many
    }
    data.remove_prefix(nl + 1);
    if (partial_.empty()) {
      if (!piece.empty()) {
        on_line(piece);
      }
    } else {
      partial_.append(piece);
      std::string line = std::move(partial_);
      partial_.clear();
      on_line(line);
    }
  }
  return true;
}

std::shared_ptr<EventFollower> EventFollower::Open(const engine::DockerApi& api,
                                                   const engine::EventsQuery& query,
                                                   std::chrono::milliseconds timeout,
                                                   OpenCallback opened) {
  std::shared_ptr<EventFollower> follower(new EventFollower());
  auto request =
      api.Events(query, timeout,
                 [follower, opened = std::move(opened)](engine::Result<engine::ApiResponse> res,
                                                        std::shared_ptr<engine::BodyStream> body) {
                   follower->OnOpen(std::move(res), std::move(body), opened);
                 });
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(follower->mu_);
    if (!follower->body_) {
      follower->request_ = request;
    }
    cancel = follower->cancelled_;
  }
  if (cancel) {
    request->Cancel();
  }
  return follower;
}

void EventFollower::OnOpen(engine::Result<engine::ApiResponse> res,
                           std::shared_ptr<engine::BodyStream> body, const OpenCallback& opened) {
  if (!res.status().ok() || !body) {
    return opened(res.status().ok() ? engine::Status(engine::Code::kProtocolError,
                                                     "the daemon's event stream has no body")
                                    : res.status());
  }
  bool cancelled = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled = cancelled_;
    request_ = nullptr;
    if (!cancelled) {
      body_ = body;
    }
  }
  if (cancelled) {
    body->Cancel();
    return opened(engine::Status(engine::Code::kCancelled, "the event follower was cancelled"));
  }
  opened(engine::Status::Ok());
}

void EventFollower::Read(ReadCallback cb) {
  std::shared_ptr<engine::BodyStream> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    body = body_;
    if (cancelled_ || !body) {
      body = nullptr;
    }
  }
  if (!body) {
    return cb(engine::Status(engine::Code::kCancelled, "the event follower was cancelled"), {},
              false);
  }
  body->Read([self = shared_from_this(), cb = std::move(cb)](const engine::Status& st,
                                                             std::string_view data, bool eof) {
    if (!st.ok()) {
      return cb(st, {}, false);
    }
    std::vector<DaemonEvent> events;
    bool fits = self->lines_.Feed(data, [&events](std::string_view line) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object()) {
        events.push_back(ParseDaemonEvent(j));
      }
    });
    if (!fits) {
      self->Cancel();
      return cb(engine::Status(engine::Code::kProtocolError,
                               "the daemon's event stream has a line too long to be an event"),
                {}, false);
    }
    cb(engine::Status::Ok(), std::move(events), eof);
  });
}

void EventFollower::Cancel() {
  std::shared_ptr<engine::Call> request;
  std::shared_ptr<engine::BodyStream> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    request = std::move(request_);
    body = std::move(body_);
  }
  if (request) {
    request->Cancel();
  }
  if (body) {
    body->Cancel();
  }
}

}  // namespace dockline::server
