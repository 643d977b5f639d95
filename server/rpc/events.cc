#include "server/rpc/events.h"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "server/codec/events_codec.h"
#include "server/codec/status_map.h"
#include "server/events/event_follower.h"
#include "server/reactor/stream_core.h"

namespace dockline::server {
namespace {

using Response = v1::WatchEventsResponse;

// WatchEvents: the daemon's GET /events through an EventFollower, each event typed and relayed.
// The follower reads only while the output queue has room, so a slow client holds a few events
// at most and the daemon waits. The daemon ends the stream at `until`: the RPC then ends OK.
// Thread rules are StreamCore's.
class EventsCore : public StreamCore<EventsCore, Response> {
 public:
  EventsCore(const engine::DockerApi& api, engine::EventsQuery query)
      : StreamCore(api.engine_ptr(), "event watch",
                   [](engine::StreamKind, std::string&&) { return Response(); }),
        api_(api),
        query_(std::move(query)),
        owned_(!api.OwnerLabel().empty()) {}

 private:
  enum class State { kOpen, kOpening, kReading };

  void Step(Actions* actions) override {
    if (state_ == State::kOpen) {
      state_ = State::kOpening;
      actions->push_back([self = self()] { self->Open(); });
    } else if (state_ == State::kReading && follower_ && !reading_ && out_.HasRoom()) {
      reading_ = true;
      actions->push_back([self = self(), f = std::static_pointer_cast<EventFollower>(follower_)] {
        self->Read(f);
      });
    }
  }

  void OnEnd(const grpc::Status&, Actions* actions) override {
    if (follower_) {
      actions->push_back([f = follower_] { f->Cancel(); });
    }
  }

  void Open() {
    auto opened = [self = self()](const engine::Status& st) {
      self->Update([&] {
        if (!st.ok()) {
          return self->Fail(ToGrpcStatus(st));
        }
        self->state_ = State::kReading;
      });
    };
    Hold(&follower_, EventFollower::Open(api_, query_, std::chrono::milliseconds(0), opened));
    Drive();  // `opened` may have run before the follower was held: Step reads once it is both
  }

  void Read(const std::shared_ptr<EventFollower>& follower) {
    follower->Read(
        [self = self()](const engine::Status& st, std::vector<DaemonEvent> events, bool eof) {
          self->Update([&] {
            self->reading_ = false;
            if (!st.ok()) {
              return self->Fail(ToGrpcStatus(st));  // a line too long to be an event included
            }
            for (const DaemonEvent& event : events) {
              // The owner's label reaches the daemon as a filter, but an image or a network can
              // carry that label too: an owned identity sees its containers' events only.
              if (self->owned_ && event.type != "container") {
                continue;
              }
              Response msg;
              EventToProto(event, msg.mutable_event());
              self->out_.Push(std::move(msg));
            }
            if (eof) {
              self->Complete();
            }
          });
        });
  }

  const engine::DockerApi api_;
  const engine::EventsQuery query_;
  const bool owned_;

  // Guarded by mu_.
  State state_ = State::kOpen;
  bool reading_ = false;
  std::shared_ptr<engine::Call> follower_;
};

}  // namespace

grpc::ServerWriteReactor<Response>* rpc::WatchEvents(const RpcEnv& env,
                                                     grpc::CallbackServerContext*,
                                                     const v1::WatchEventsRequest* request) {
  engine::EventsQuery query;
  if (grpc::Status st = EventsQueryFromRequest(*request, &query); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  return StartStream<EventsCore>(env.api, std::move(query));
}

}  // namespace dockline::server
