#include "server/rpc/containers.h"

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "engine/read_all.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"
#include "server/codec/status_map.h"
#include "server/reactor/legacy_call_reactor.h"

namespace dockline::server {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using google::protobuf::util::TimeUtil;

std::string ContainerPath(const std::string& container, std::string_view suffix = "") {
  return "/containers/" + EscapePathSegment(container) + std::string(suffix);
}

// Docker takes whole seconds for stop/restart grace periods; a fraction rounds up so a short
// grace period never becomes an immediate SIGKILL.
grpc::Status GraceSeconds(const google::protobuf::Duration& d, const char* field,
                          std::string* out) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(field) + ": must not be negative");
  }
  int64_t secs = d.seconds() + (d.nanos() > 0 ? 1 : 0);
  *out = std::to_string(secs);
  return grpc::Status::OK;
}

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
  ApiRequest request("POST", "/containers/create");
  if (!req->spec().name().empty()) {
    request.Query("name", req->spec().name());
  }
  request.body = body.dump();
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request), [resp](Result<ApiResponse>& res) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    resp->set_id(GetString(j, "Id"));
    if (const auto* warnings = Member(j, "Warnings"); warnings && warnings->is_array()) {
      for (const auto& w : *warnings) {
        if (w.is_string()) {
          resp->add_warnings(w.get<std::string>());
        }
      }
    }
    if (resp->id().empty()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's create reply has no Id");
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* rpc::StartContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                              const v1::StartContainerRequest* req,
                                              v1::StartContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("POST", ContainerPath(req->container(), "/start"));
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request), [resp](Result<ApiResponse>& res) {
    resp->set_already_running(res->status == 304);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* rpc::StopContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::StopContainerRequest* req,
                                             v1::StopContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("POST", ContainerPath(req->container(), "/stop"));
  if (req->has_timeout()) {
    std::string t;
    if (grpc::Status st = GraceSeconds(req->timeout(), "timeout", &t); !st.ok()) {
      return Reject(st);
    }
    request.Query("t", t);
  }
  return EngineCall(env.api.engine(), std::move(request), [resp](Result<ApiResponse>& res) {
    resp->set_already_stopped(res->status == 304);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* rpc::RestartContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                                const v1::RestartContainerRequest* req,
                                                v1::RestartContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("POST", ContainerPath(req->container(), "/restart"));
  if (req->has_timeout()) {
    std::string t;
    if (grpc::Status st = GraceSeconds(req->timeout(), "timeout", &t); !st.ok()) {
      return Reject(st);
    }
    request.Query("t", t);
  }
  return EngineCall(env.api.engine(), std::move(request),
                    [](Result<ApiResponse>&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* rpc::KillContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::KillContainerRequest* req,
                                             v1::KillContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("POST", ContainerPath(req->container(), "/kill"));
  if (!req->signal().empty()) {
    if (grpc::Status st = ValidateSignal("signal", req->signal()); !st.ok()) {
      return Reject(st);
    }
    request.Query("signal", req->signal());
  }
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request),
                    [](Result<ApiResponse>&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* rpc::RemoveContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::RemoveContainerRequest* req,
                                               v1::RemoveContainerResponse*) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("DELETE", ContainerPath(req->container()));
  request.Query("force", req->force() ? "1" : "0");
  request.Query("v", req->remove_volumes() ? "1" : "0");
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request),
                    [](Result<ApiResponse>&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* rpc::InspectContainer(const RpcEnv& env, grpc::CallbackServerContext*,
                                                const v1::InspectContainerRequest* req,
                                                v1::InspectContainerResponse* resp) {
  if (grpc::Status st = ValidateContainerRef("container", req->container()); !st.ok()) {
    return Reject(st);
  }
  ApiRequest request("GET", ContainerPath(req->container(), "/json"));
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request), [resp](Result<ApiResponse>& res) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_object()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's inspect reply is not JSON");
    }
    ContainerInfoFromJson(j, resp->mutable_container());
    resp->set_raw_json(std::move(res->body));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* rpc::ListContainers(const RpcEnv& env, grpc::CallbackServerContext*,
                                              const v1::ListContainersRequest* req,
                                              v1::ListContainersResponse* resp) {
  ApiRequest request("GET", "/containers/json");
  if (req->all()) {
    request.Query("all", "1");
  }
  if (req->limit() < 0) {
    return Reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must not be negative"));
  }
  if (req->limit() > 0) {
    request.Query("limit", std::to_string(req->limit()));
  }
  if (req->filters_size() > 0) {
    nlohmann::json filters;
    if (grpc::Status st = FiltersToJson("filters", req->filters(), &filters); !st.ok()) {
      return Reject(st);
    }
    request.Query("filters", filters.dump());
  }
  request.timeout = env.options.unary_timeout;
  return EngineCall(env.api.engine(), std::move(request), [resp](Result<ApiResponse>& res) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_array()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the daemon's list reply is not an array");
    }
    for (const auto& item : j) {
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
  const char* condition = nullptr;
  switch (req->condition()) {
    case v1::WAIT_CONDITION_UNSPECIFIED:
    case v1::WAIT_CONDITION_NOT_RUNNING:
      condition = "not-running";
      break;
    case v1::WAIT_CONDITION_NEXT_EXIT:
      condition = "next-exit";
      break;
    case v1::WAIT_CONDITION_REMOVED:
      condition = "removed";
      break;
    default:
      // API 1.41 would silently read an unknown condition as not-running.
      return Reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "condition: unknown wait condition " +
                                     std::to_string(req->condition()) +
                                     "; use NOT_RUNNING, NEXT_EXIT or REMOVED"));
  }
  ApiRequest request("POST", ContainerPath(req->container(), "/wait"));
  request.Query("condition", condition);
  std::string waited_for;
  if (req->has_timeout()) {
    if (req->timeout().seconds() < 0 || req->timeout().nanos() < 0 ||
        TimeUtil::DurationToMilliseconds(req->timeout()) == 0) {
      return Reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "timeout: must be at least 1ms when set"));
    }
    request.timeout = std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(req->timeout()));
    waited_for = TimeUtil::ToString(req->timeout());
  }
  auto* reactor = new CallReactor();
  auto state = reactor->state();
  std::string container = req->container();
  std::string cond = condition;
  reactor->Track(env.api.engine().Stream(
      std::move(request), [state, resp, container, cond, waited_for](
                              Result<ApiResponse> res, std::shared_ptr<engine::BodyStream> body) {
        if (!res.status().ok()) {
          return CallReactor::Complete(state, ToGrpcStatus(res.status()));
        }
        {
          // The body arrives only at the exit: the body stream is now what a cancel must close.
          std::lock_guard<std::mutex> lock(state->mu);
          state->call = body;
          if (state->cancelled) {
            body->Cancel();
          }
        }
        engine::ReadAll(body, [state, resp, container, cond, waited_for](const engine::Status& st,
                                                                         std::string data) {
          if (st.code() == engine::Code::kTimeout) {
            return CallReactor::Complete(
                state, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                    "container " + container + " did not reach " + cond +
                                        " within " + waited_for));
          }
          if (!st.ok()) {
            return CallReactor::Complete(state, ToGrpcStatus(st));
          }
          auto j = nlohmann::json::parse(data, nullptr, false);
          if (!j.is_object() || !Member(j, "StatusCode")) {
            return CallReactor::Complete(
                state, grpc::Status(grpc::StatusCode::INTERNAL,
                                    "the daemon's wait reply is not understood: " + data));
          }
          resp->set_exit_code(GetInt(j, "StatusCode"));
          if (const auto* err = Member(j, "Error"); err && err->is_object()) {
            resp->set_error(GetString(*err, "Message"));
          }
          CallReactor::Complete(state, grpc::Status::OK);
        });
      }));
  return reactor;
}

grpc::ServerUnaryReactor* rpc::GetEngineInfo(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::GetEngineInfoRequest*,
                                             v1::GetEngineInfoResponse* resp) {
  ApiRequest request("GET", "/version");
  request.timeout = env.options.unary_timeout;
  auto engine = env.api.engine_ptr();
  return EngineCall(env.api.engine(), std::move(request), [resp, engine](Result<ApiResponse>& res) {
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    EngineInfoFromVersionJson(j, resp);
    resp->set_api_version(engine->ApiVersion());
    resp->set_dockline_version(DOCKLINE_VERSION);
    return grpc::Status::OK;
  });
}

}  // namespace dockline::server
