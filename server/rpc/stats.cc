#include "server/rpc/stats.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "server/codec/stats_codec.h"
#include "server/codec/status_map.h"
#include "server/codec/validate.h"
#include "server/events/event_follower.h"
#include "server/reactor/body_relay.h"
#include "server/reactor/stream_core.h"
#include "server/reactor/unary_call.h"

namespace dockline::server {
namespace {

using Response = v1::StreamStatsResponse;
using json = nlohmann::json;

// A sample is a few KiB (more with many CPUs or devices); a line past this is not one.
constexpr size_t kMaxSampleLine = 1 << 20;

// StreamStats: GET /containers/{id}/stats?stream=1, cut into lines, each sample typed and
// relayed. The daemon is read only while the output queue has room, so a slow client holds a
// few samples at most. The daemon ends the stream when the container is removed: the RPC then
// ends OK. Thread rules are StreamCore's.
class StatsCore : public BodyRelayCore<StatsCore, Response> {
 public:
  StatsCore(const engine::DockerApi& api, std::string container)
      : BodyRelayCore(api.engine_ptr(), "stats",
                      [](engine::StreamKind, std::string&&) { return Response(); }),
        api_(api),
        container_(std::move(container)),
        lines_(kMaxSampleLine) {}

 private:
  std::shared_ptr<engine::Call> OpenBody(engine::Engine::StreamCallback opened) override {
    return api_.StreamContainerStats(container_, std::move(opened));
  }

  void OnBody(std::string_view data, bool) override {
    bool garbled = false;
    bool fits = lines_.Feed(data, [&](std::string_view line) {
      json sample = json::parse(line, nullptr, false);
      if (!sample.is_object()) {
        garbled = true;
        return;
      }
      Response msg;
      StatsFromJson(sample, std::string(line), msg.mutable_stats());
      out_.Push(std::move(msg));
    });
    if (!fits || garbled) {
      Fail(ToGrpcStatus(engine::Status(engine::Code::kProtocolError,
                                       !fits ? "the daemon sent a stats line over 1 MiB"
                                             : "the daemon sent a stats line "
                                               "that is not a JSON object")));
    }
  }

  const engine::DockerApi api_;
  const std::string container_;
  LineSplitter lines_;  // guarded by mu_
};

}  // namespace

grpc::ServerUnaryReactor* rpc::GetStats(const RpcEnv& env, grpc::CallbackServerContext*,
                                        const v1::GetStatsRequest* request,
                                        v1::GetStatsResponse* response) {
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return Reject(std::move(st));
  }
  return UnaryEngineCall<json>(
      [&](auto done) { return env.api.ContainerStats(request->container(), done); },
      [response](const json& sample) {
        StatsFromJson(sample, sample.dump(-1, ' ', false, json::error_handler_t::replace),
                      response->mutable_stats());
        return grpc::Status::OK;
      });
}

grpc::ServerWriteReactor<Response>* rpc::StreamStats(const RpcEnv& env,
                                                     grpc::CallbackServerContext*,
                                                     const v1::StreamStatsRequest* request) {
  if (grpc::Status st = ValidateContainerRef("container", request->container()); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  return StartStream<StatsCore>(env.api, request->container());
}

}  // namespace dockline::server
