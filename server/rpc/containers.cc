#include "server/rpc/containers.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/spec_codec.h"
#include "server/codec/validate.h"
#include "server/reactor/unary_call.h"
#include "server/rpc/pull_stage.h"

namespace dockline::server {
namespace {

using google::protobuf::util::TimeUtil;

// Docker takes whole seconds for stop/restart grace periods; a fraction rounds up so a short
// grace period never becomes an immediate SIGKILL. Unset: the container's own stop timeout.
grpc::Status GraceSeconds(bool has_timeout, const google::protobuf::Duration& d,
                          std::optional<int64_t>* out) {
  if (!has_timeout) {
    return grpc::Status::OK;
  }
  if (d.seconds() < 0 || d.nanos() < 0) {
    return InvalidField("timeout", "must not be negative");
  }
  *out = d.seconds() + (d.nanos() > 0 ? 1 : 0);
  return grpc::Status::OK;
}

// The Engine API's wait condition, or nullptr for a value this build does not know.
const char* WaitConditionName(v1::WaitCondition condition) {
  switch (condition) {
    case v1::WAIT_CONDITION_UNSPECIFIED:
    case v1::WAIT_CONDITION_NOT_RUNNING:
      return "not-running";
    case v1::WAIT_CONDITION_NEXT_EXIT:
      return "next-exit";
    case v1::WAIT_CONDITION_REMOVED:
      return "removed";
    default:
      return nullptr;
  }
}

grpc::Status Ok(const engine::Status&) { return grpc::Status::OK; }

// CreateContainer as `docker create` does it: MISSING tries the create first and pulls only
// when the daemon has no such image (no extra round trip when it has), then creates again;
// ALWAYS pulls first. Each step starts from the callback of the one before, so they never
// overlap; the handle tracks the step in flight for a cancel.
struct CreateWithPull : std::enable_shared_from_this<CreateWithPull> {
  CreateWithPull(UnaryHandle h, engine::DockerApi a, std::string n, nlohmann::json b, PullTarget t,
                 v1::CreateContainerResponse* r)
      : handle(std::move(h)),
        api(std::move(a)),
        name(std::move(n)),
        body(std::move(b)),
        target(std::move(t)),
        resp(r) {}

  void Create(bool pull_when_missing) {
    handle.Track(api.CreateContainer(name, body,
                                     [self = shared_from_this(), pull_when_missing](
                                         engine::Result<engine::CreatedContainer> res) {
                                       if (res.ok()) {
                                         return self->handle.Finish(grpc::Status::OK, [&] {
                                           self->resp->set_id(std::move(res->id));
                                           for (std::string& warning : res->warnings) {
                                             self->resp->add_warnings(std::move(warning));
                                           }
                                         });
                                       }
                                       if (pull_when_missing &&
                                           res.status().code() == engine::Code::kNotFound &&
                                           res.status().message().starts_with("No such image")) {
                                         return self->Pull();
                                       }
                                       self->handle.Fail(res.status());
                                     }));
  }

  void Pull() {
    handle.Track(PullQuietly(api, target, [self = shared_from_this()](const engine::Status& st) {
      if (!st.ok()) {
        return self->handle.Fail(st);
      }
      self->Create(false);
    }));
  }

  const UnaryHandle handle;
  const engine::DockerApi api;
  const std::string name;
  const nlohmann::json body;
  const PullTarget target;
  v1::CreateContainerResponse* const resp;
};

}  // namespace

grpc::ServerUnaryReactor* rpc::CreateContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::CreateContainerRequest* req,
                                               v1::CreateContainerResponse* resp) {
  CreateOptions create;
  create.api_version = env.api.ApiVersion();
  nlohmann::json body;
  if (grpc::Status st = BuildCreateBody(req->spec(), create, &body); !st.ok()) {
    return Reject(st);
  }
  if (grpc::Status st = ValidatePullPolicy(req->pull(), req->spec().image()); !st.ok()) {
    return Reject(st);
  }
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  auto chain = std::make_shared<CreateWithPull>(
      handle, env.api, req->spec().name(), std::move(body),
      MakePullTarget(req->spec().image(), "", req->registry_auth()), resp);
  // A quick reply finishes the RPC on gRPC's thread (see InlineReplyScope).
  engine::InlineReplyScope inline_reply;
  if (req->pull() == v1::PULL_POLICY_ALWAYS) {
    chain->Pull();
  } else {
    chain->Create(req->pull() != v1::PULL_POLICY_NEVER);  // UNSPECIFIED is MISSING
  }
  return reactor;
}

grpc::ServerUnaryReactor* rpc::StartContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                              const v1::StartContainerRequest* req,
                                              v1::StartContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::Status>(
      [&](auto done) { return env.api.StartContainer(req->container(), done); },
      [resp](const engine::Status& st) {
        resp->set_already_running(st.code() == engine::Code::kNotModified);
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::StopContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::StopContainerRequest* req,
                                             v1::StopContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  std::optional<int64_t> grace;
  if (grpc::Status st = GraceSeconds(req->has_timeout(), req->timeout(), &grace); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::Status>(
      [&](auto done) { return env.api.StopContainer(req->container(), grace, done); },
      [resp](const engine::Status& st) {
        resp->set_already_stopped(st.code() == engine::Code::kNotModified);
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::RestartContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                                const v1::RestartContainerRequest* req,
                                                v1::RestartContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  std::optional<int64_t> grace;
  if (grpc::Status st = GraceSeconds(req->has_timeout(), req->timeout(), &grace); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::Status>(
      [&](auto done) { return env.api.RestartContainer(req->container(), grace, done); }, Ok);
}

grpc::ServerUnaryReactor* rpc::KillContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::KillContainerRequest* req,
                                             v1::KillContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  if (!req->signal().empty()) {
    if (grpc::Status st = ValidateSignal("signal", req->signal()); !st.ok()) {
      return Reject(st);
    }
  }
  return UnaryEngineCall<engine::Status>(
      [&](auto done) { return env.api.KillContainer(req->container(), req->signal(), done); }, Ok);
}

grpc::ServerUnaryReactor* rpc::RemoveContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::RemoveContainerRequest* req,
                                               v1::RemoveContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::Status>(
      [&](auto done) {
        return env.api.RemoveContainer(req->container(), req->force(), req->remove_volumes(), done);
      },
      Ok);
}

grpc::ServerUnaryReactor* rpc::InspectContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                                const v1::InspectContainerRequest* req,
                                                v1::InspectContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::ContainerDocument>(
      [&](auto done) { return env.api.InspectContainer(req->container(), done); },
      [resp](engine::ContainerDocument& doc) {
        ContainerInfoFromJson(doc.json, resp->mutable_container());
        resp->set_raw_json(std::move(doc.raw));
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::ListContainers(const RpcEnv& env, grpc::CallbackServerContext*,
                                              const v1::ListContainersRequest* req,
                                              v1::ListContainersResponse* resp) {
  engine::ListContainersQuery query;
  query.all = req->all();
  if (req->limit() < 0) {
    return Reject(InvalidField("limit", "must not be negative"));
  }
  query.limit = req->limit();
  if (req->filters_size() > 0) {
    if (grpc::Status st = FiltersToJson("filters", req->filters(), &query.filters); !st.ok()) {
      return Reject(st);
    }
  }
  return UnaryEngineCall<nlohmann::json>(
      [&](auto done) { return env.api.ListContainers(query, done); },
      [resp](const nlohmann::json& list) {
        for (const auto& item : list) {
          ContainerSummaryFromJson(item, resp->add_containers());
        }
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::WaitContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::WaitContainerRequest* req,
                                             v1::WaitContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  const char* condition = WaitConditionName(req->condition());
  if (condition == nullptr) {
    // API 1.41 would silently read an unknown condition as not-running.
    return Reject(InvalidField("condition",
                               "unknown wait condition " + std::to_string(req->condition()) +
                                   "; use WAIT_CONDITION_NOT_RUNNING, WAIT_CONDITION_NEXT_EXIT or "
                                   "WAIT_CONDITION_REMOVED"));
  }
  std::chrono::milliseconds timeout{0};  // none
  std::string waited_for;
  if (req->has_timeout()) {
    if (req->timeout().seconds() < 0 || req->timeout().nanos() < 0 ||
        TimeUtil::DurationToMilliseconds(req->timeout()) == 0) {
      return Reject(InvalidField("timeout", "must be at least 1ms when set"));
    }
    timeout = std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(req->timeout()));
    waited_for = TimeUtil::ToString(req->timeout());
  }
  // Not UnaryEngineCall: our own deadline passing is an answer of its own, not the status
  // table's DEADLINE_EXCEEDED.
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  handle.Track(env.api.WaitContainer(
      req->container(), condition, timeout, nullptr,
      [handle = handle, resp, container = req->container(), condition = std::string(condition),
       waited_for](engine::Result<engine::ExitStatus> res) {
        if (res.status().code() == engine::Code::kTimeout) {
          return handle.Finish(grpc::Status(
              grpc::StatusCode::DEADLINE_EXCEEDED,
              "container " + container + " did not reach " + condition + " within " + waited_for));
        }
        if (!res.ok()) {
          return handle.Fail(res.status());
        }
        handle.Finish(grpc::Status::OK, [&] {
          resp->set_exit_code(res->exit_code);
          resp->set_error(std::move(res->error));
        });
      }));
  return reactor;
}

grpc::ServerUnaryReactor* rpc::GetEngineInfo(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::GetEngineInfoRequest*,
                                             v1::GetEngineInfoResponse* resp) {
  return UnaryEngineCall<nlohmann::json>([&](auto done) { return env.api.Version(done); },
                                         [resp, api = env.api](const nlohmann::json& version) {
                                           if (!EngineInfoFromVersionJson(version, resp)) {
                                             return grpc::Status(
                                                 grpc::StatusCode::INTERNAL,
                                                 "the daemon's version reply has no Version and "
                                                 "ApiVersion strings");
                                           }
                                           resp->set_api_version(api.ApiVersion());
                                           resp->set_dockline_version(DOCKLINE_VERSION);
                                           return grpc::Status::OK;
                                         });
}

}  // namespace dockline::server
