#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
#include "server/auth/authenticator.h"
#include "server/auth/limits.h"
#include "server/calls/call_registry.h"
#include "server/policy/rules.h"
#include "server/reactor/rejected.h"
#include "server/rpc/attach.h"
#include "server/rpc/containers.h"
#include "server/rpc/copy.h"
#include "server/rpc/events.h"
#include "server/rpc/exec.h"
#include "server/rpc/health.h"
#include "server/rpc/images.h"
#include "server/rpc/logs.h"
#include "server/rpc/prune.h"
#include "server/rpc/rpc_env.h"
#include "server/rpc/run.h"
#include "server/rpc/stats.h"

namespace dockline::server {

// dockline.v1.Dockline on gRPC's callback API: the dispatch table, one line per RPC. What each
// RPC does is in server/rpc/ (validation through codec/, Engine API calls through
// engine::DockerApi, replies through reactor/). Every line goes through Guarded, so no RPC runs
// for a caller the authenticator refused. Reactions never block.
// What the guard enforces besides authentication; each part is optional.
struct Guards {
  std::shared_ptr<policy::PolicyStore> policy;  // null: no --policy
  std::shared_ptr<calls::CallRegistry> calls;   // null: no --audit and no stream limits
};

class DocklineService final : public v1::Dockline::CallbackService {
 public:
  DocklineService(std::shared_ptr<engine::Engine> engine, ServiceOptions options = {},
                  auth::Authenticator authenticator = {}, Guards guards = {})
      : env_{engine::DockerApi(std::move(engine), options.unary_timeout),
             options,
             {},
             {},
             {},
             std::make_shared<RetainedExecs>(options.retain)},
        options_(options),
        authenticator_(std::move(authenticator)),
        guards_(std::move(guards)) {}

  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* ctx,
                                            const v1::CreateContainerRequest* req,
                                            v1::CreateContainerResponse* resp) override {
    return Guarded("CreateContainer", rpc::CreateContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* ctx,
                                           const v1::StartContainerRequest* req,
                                           v1::StartContainerResponse* resp) override {
    return Guarded("StartContainer", rpc::StartContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* ctx,
                                          const v1::StopContainerRequest* req,
                                          v1::StopContainerResponse* resp) override {
    return Guarded("StopContainer", rpc::StopContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RestartContainer(grpc::CallbackServerContext* ctx,
                                             const v1::RestartContainerRequest* req,
                                             v1::RestartContainerResponse* resp) override {
    return Guarded("RestartContainer", rpc::RestartContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* KillContainer(grpc::CallbackServerContext* ctx,
                                          const v1::KillContainerRequest* req,
                                          v1::KillContainerResponse* resp) override {
    return Guarded("KillContainer", rpc::KillContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* ctx,
                                            const v1::RemoveContainerRequest* req,
                                            v1::RemoveContainerResponse* resp) override {
    return Guarded("RemoveContainer", rpc::RemoveContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectContainer(grpc::CallbackServerContext* ctx,
                                             const v1::InspectContainerRequest* req,
                                             v1::InspectContainerResponse* resp) override {
    return Guarded("InspectContainer", rpc::InspectContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* ctx,
                                           const v1::ListContainersRequest* req,
                                           v1::ListContainersResponse* resp) override {
    return Guarded("ListContainers", rpc::ListContainers, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitContainer(grpc::CallbackServerContext* ctx,
                                          const v1::WaitContainerRequest* req,
                                          v1::WaitContainerResponse* resp) override {
    return Guarded("WaitContainer", rpc::WaitContainer, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::RunContainerResponse>* RunContainer(
      grpc::CallbackServerContext* ctx, const v1::RunContainerRequest* req) override {
    return Guarded("RunContainer", rpc::RunContainer, ctx, req);
  }
  grpc::ServerUnaryReactor* GetEngineInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetEngineInfoRequest* req,
                                          v1::GetEngineInfoResponse* resp) override {
    return Guarded("GetEngineInfo", rpc::GetEngineInfo, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::GetStatsResponse* resp) override {
    return Guarded("GetStats", rpc::GetStats, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::StreamStatsResponse>* StreamStats(
      grpc::CallbackServerContext* ctx, const v1::StreamStatsRequest* req) override {
    return Guarded("StreamStats", rpc::StreamStats, ctx, req);
  }
  grpc::ServerWriteReactor<v1::CopyFromContainerResponse>* CopyFromContainer(
      grpc::CallbackServerContext* ctx, const v1::CopyFromContainerRequest* req) override {
    return Guarded("CopyFromContainer", rpc::CopyFromContainer, ctx, req);
  }
  grpc::ServerReadReactor<v1::CopyToContainerRequest>* CopyToContainer(
      grpc::CallbackServerContext* ctx, v1::CopyToContainerResponse* resp) override {
    return Guarded("CopyToContainer", rpc::CopyToContainer, ctx, resp);
  }
  grpc::ServerWriteReactor<v1::WatchEventsResponse>* WatchEvents(
      grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest* req) override {
    return Guarded("WatchEvents", rpc::WatchEvents, ctx, req);
  }
  grpc::ServerUnaryReactor* ExecContainer(grpc::CallbackServerContext* ctx,
                                          const v1::ExecContainerRequest* req,
                                          v1::ExecContainerResponse* resp) override {
    return Guarded("ExecContainer", rpc::ExecContainer, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(
      grpc::CallbackServerContext* ctx, const v1::StreamExecRequest* req) override {
    return Guarded("StreamExec", rpc::StreamExec, ctx, req);
  }
  grpc::ServerUnaryReactor* StartExec(grpc::CallbackServerContext* ctx,
                                      const v1::StartExecRequest* req,
                                      v1::StartExecResponse* resp) override {
    return Guarded("StartExec", rpc::StartExec, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectExec(grpc::CallbackServerContext* ctx,
                                        const v1::InspectExecRequest* req,
                                        v1::InspectExecResponse* resp) override {
    return Guarded("InspectExec", rpc::InspectExec, ctx, req, resp);
  }
  grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
      grpc::CallbackServerContext* ctx) override {
    return Guarded("AttachExec", rpc::AttachExec, ctx);
  }
  grpc::ServerBidiReactor<v1::AttachContainerRequest, v1::AttachContainerResponse>* AttachContainer(
      grpc::CallbackServerContext* ctx) override {
    return Guarded("AttachContainer", rpc::AttachContainer, ctx);
  }
  grpc::ServerWriteReactor<v1::StreamLogsResponse>* StreamLogs(
      grpc::CallbackServerContext* ctx, const v1::StreamLogsRequest* req) override {
    return Guarded("StreamLogs", rpc::StreamLogs, ctx, req);
  }
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* ctx,
                                      const v1::GetHealthRequest* req,
                                      v1::GetHealthResponse* resp) override {
    return Guarded("GetHealth", rpc::GetHealth, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitHealthy(grpc::CallbackServerContext* ctx,
                                        const v1::WaitHealthyRequest* req,
                                        v1::WaitHealthyResponse* resp) override {
    return Guarded("WaitHealthy", rpc::WaitHealthy, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::WatchHealthResponse>* WatchHealth(
      grpc::CallbackServerContext* ctx, const v1::WatchHealthRequest* req) override {
    return Guarded("WatchHealth", rpc::WatchHealth, ctx, req);
  }
  grpc::ServerUnaryReactor* PruneContainers(grpc::CallbackServerContext* ctx,
                                            const v1::PruneContainersRequest* req,
                                            v1::PruneContainersResponse* resp) override {
    return Guarded("PruneContainers", rpc::PruneContainers, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneImages(grpc::CallbackServerContext* ctx,
                                        const v1::PruneImagesRequest* req,
                                        v1::PruneImagesResponse* resp) override {
    return Guarded("PruneImages", rpc::PruneImages, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneVolumes(grpc::CallbackServerContext* ctx,
                                         const v1::PruneVolumesRequest* req,
                                         v1::PruneVolumesResponse* resp) override {
    return Guarded("PruneVolumes", rpc::PruneVolumes, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneNetworks(grpc::CallbackServerContext* ctx,
                                          const v1::PruneNetworksRequest* req,
                                          v1::PruneNetworksResponse* resp) override {
    return Guarded("PruneNetworks", rpc::PruneNetworks, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::PullImageResponse>* PullImage(
      grpc::CallbackServerContext* ctx, const v1::PullImageRequest* req) override {
    return Guarded("PullImage", rpc::PullImage, ctx, req);
  }
  grpc::ServerUnaryReactor* ListImages(grpc::CallbackServerContext* ctx,
                                       const v1::ListImagesRequest* req,
                                       v1::ListImagesResponse* resp) override {
    return Guarded("ListImages", rpc::ListImages, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectImage(grpc::CallbackServerContext* ctx,
                                         const v1::InspectImageRequest* req,
                                         v1::InspectImageResponse* resp) override {
    return Guarded("InspectImage", rpc::InspectImage, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RemoveImage(grpc::CallbackServerContext* ctx,
                                        const v1::RemoveImageRequest* req,
                                        v1::RemoveImageResponse* resp) override {
    return Guarded("RemoveImage", rpc::RemoveImage, ctx, req, resp);
  }

  // See RetainedExecs::CloseAll.
  void CloseRetained() { env_.retained->CloseAll(); }

 private:
  // The guard in front of every RPC, the one place a call is judged before it runs: the
  // caller's identity, then the policy on the typed request, then the stream limits. A refusal
  // is a reactor of the RPC's kind that finishes without reading a message or reaching the
  // daemon. Otherwise the RPC runs with a copy of the env that carries the identity, its rules
  // and (for an `owned` identity) an Engine API scoped to its containers; entry points copy what
  // they keep, so the copy may end when the entry point returns. With --audit or stream limits,
  // a record of the decision stays with the call until it ends (calls::CallRegistry).
  template <typename Reactor, typename... Params, typename... Args>
  Reactor* Guarded(const char* name,
                   Reactor* (*rpc)(const RpcEnv&, grpc::CallbackServerContext*, Params...),
                   grpc::CallbackServerContext* ctx, Args... args) {
    constexpr bool kStream = !std::is_same_v<Reactor, grpc::ServerUnaryReactor>;
    RpcEnv env = env_;
    grpc::Status status = authenticator_.Authenticate(*ctx, &env.identity);
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("{} from {}: {}", name, ctx->peer(),
                    status.ok() ? "identity " + env.identity.name + " (" +
                                      auth::SourceName(env.identity.source) + ")"
                                : "refused: " + status.error_message());
    }
    std::shared_ptr<calls::CallRecord> record;
    if (guards_.calls && (guards_.calls->auditing() || (kStream && guards_.calls->limiting()))) {
      record = NewRecord<Reactor>(name, *ctx, args...);
    }
    auto refuse = [&](grpc::Status why, const char* rule) {
      if (record) {
        record->decision = "deny";
        record->rule = rule;
        guards_.calls->Begin(ctx, record);
      }
      return Refuse<Reactor>(std::move(why));
    };
    if (!status.ok()) {
      return refuse(std::move(status), "authentication");
    }
    if (record) {
      record->identity = env.identity.name;
      record->source = auth::SourceName(env.identity.source);
    }
    // AttachExec, AttachContainer and CopyToContainer have no request here: their first message is
    // judged by the RPC (AdmitConfig; the owner scoping of env.api).
    auto request = RequestOf<Reactor>(args...);
    constexpr bool kHasRequest = !std::is_same_v<decltype(request), std::nullptr_t>;
    if constexpr (kHasRequest) {
      if (options_.max_request_bytes > 0) {
        if (grpc::Status st = auth::CheckRequestSize(*request, options_.max_request_bytes);
            !st.ok()) {
          return refuse(std::move(st), "max-request-size");
        }
      }
    }
    auto rules = guards_.policy ? guards_.policy->Current()->For(env.identity.name) : nullptr;
    policy::Decision decision;
    if constexpr (kHasRequest) {
      decision = policy::Admit(rules.get(), env.identity.name, name, request);
    } else {
      decision = policy::AllowRpc(rules.get(), env.identity.name, name);
    }
    if (record) {
      record->rule = decision.rule;
    }
    if (!decision.ok()) {
      return refuse(std::move(decision.status), decision.rule.c_str());
    }
    if constexpr (kStream) {
      if (record && guards_.calls->limiting()) {
        if (grpc::Status st = guards_.calls->AcquireStream(env.identity.name, &record->slot);
            !st.ok()) {
          return refuse(std::move(st), "max-streams");
        }
      }
    }
    if (rules && rules->owned) {
      env.api = env.api.OwnedBy(policy::kOwnerLabel, env.identity.name);
    }
    env.rules = std::move(rules);
    if (record) {
      env.record = record;
      guards_.calls->Begin(ctx, std::move(record));
    }
    return rpc(env, ctx, args...);
  }

  static std::nullptr_t FirstOf() { return nullptr; }
  // A client-streaming RPC's only argument is its response.
  template <typename Reactor, typename... Args>
  static auto RequestOf([[maybe_unused]] Args... args) {
    if constexpr (kClientStream<Reactor>) {
      return nullptr;
    } else {
      return FirstOf(args...);
    }
  }
  template <typename Reactor>
  static constexpr bool kClientStream = requires(Reactor* r) {
    r->StartRead(nullptr);
  }
  &&!requires(Reactor * r) { r->StartWrite(nullptr); };
  template <typename First, typename... Rest>
  static First FirstOf(First first, Rest...) {
    return first;
  }

  // A record with what the request names, and a way to learn what the call creates.
  template <typename Reactor, typename... Args>
  static std::shared_ptr<calls::CallRecord> NewRecord(const char* name,
                                                      const grpc::CallbackServerContext& ctx,
                                                      Args... args) {
    auto record = std::make_shared<calls::CallRecord>();
    record->rpc = name;
    record->peer = ctx.peer();
    std::string group = policy::GroupOf(name);
    record->audited =
        group == "operate" || group == "exec" || group == "prune" || group == "images";
    if constexpr (sizeof...(Args) > 0 && !kClientStream<Reactor>) {
      auto request = FirstOf(args...);
      if constexpr (requires { request->container(); }) {
        record->container = request->container();
      }
      if constexpr (requires { request->exec_id(); }) {
        record->exec_id = request->exec_id();
      }
      if constexpr (requires { request->spec(); }) {
        record->image = request->spec().image();
        record->container = request->spec().name();
      }
      if constexpr (requires { request->config(); }) {
        record->container = request->config().container();
      }
      if constexpr (requires { request->image(); }) {
        record->image = request->image();
      }
    }
    if constexpr (kClientStream<Reactor>) {
      record->learn = nullptr;  // nothing is created
    } else if constexpr (sizeof...(Args) == 2) {
      record->learn =
          Learner<std::remove_pointer_t<std::tuple_element_t<1, std::tuple<Args...>>>>();
    } else {
      record->learn = Learner<typename ResponseOf<Reactor>::type>();
    }
    return record;
  }

  template <typename Reactor>
  struct ResponseOf;
  template <typename Response>
  struct ResponseOf<grpc::ServerWriteReactor<Response>> {
    using type = Response;
  };
  template <typename Request, typename Response>
  struct ResponseOf<grpc::ServerBidiReactor<Request, Response>> {
    using type = Response;
  };

  // The id a created container or exec gets, read from the first message that carries it.
  template <typename Response>
  static std::function<void(calls::CallRecord&, const void*)> Learner() {
    if constexpr (std::is_same_v<Response, v1::CreateContainerResponse>) {
      return [](calls::CallRecord& r, const void* m) {
        r.container = static_cast<const Response*>(m)->id();
      };
    } else if constexpr (std::is_same_v<Response, v1::RunContainerResponse>) {
      return [](calls::CallRecord& r, const void* m) {
        const auto* msg = static_cast<const Response*>(m);
        if (msg->has_started()) {
          r.container = msg->started().id();
        }
      };
    } else if constexpr (requires(const Response& msg) { msg.exec_id(); }) {
      return [](calls::CallRecord& r, const void* m) {
        const auto* msg = static_cast<const Response*>(m);
        if (!msg->exec_id().empty()) {
          r.exec_id = msg->exec_id();
        }
      };
    } else {
      return nullptr;
    }
  }

  const RpcEnv env_;
  const ServiceOptions options_;
  const auth::Authenticator authenticator_;
  const Guards guards_;
};

}  // namespace dockline::server
