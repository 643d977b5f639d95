#include "server/rpc/images.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "engine/read_all.h"
#include "server/codec/field_error.h"
#include "server/codec/image_codec.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/prune_codec.h"
#include "server/codec/spec_codec.h"
#include "server/reactor/unary_call.h"
#include "server/rpc/pull_stage.h"

namespace dockline::server {
namespace {

using Response = v1::PullImageResponse;
using json = nlohmann::json;

constexpr size_t kMaxQuietPullBody = 64 << 20;

// PullImage: the pull stage, then the pulled image's id from an inspect.
class PullCore : public PullStage<PullCore, Response> {
 public:
  PullCore(const engine::DockerApi& api, PullTarget target)
      : PullStage(api, std::move(target), v1::PULL_POLICY_ALWAYS, "pull",
                  [](engine::StreamKind, std::string&&) { return Response(); }) {}

  static Response ProgressMessage(v1::PullProgress&& progress) {
    Response msg;
    *msg.mutable_progress() = std::move(progress);
    return msg;
  }

 private:
  void Step(Actions* actions) override {
    if (!StepPull(actions) || inspecting_) {
      return;
    }
    inspecting_ = true;
    actions->push_back([self = self()] { self->InspectPulled(); });
  }

  void OnEnd(const grpc::Status& status, Actions* actions) override {
    if (!status.ok()) {
      CancelPull(actions);
      if (inspect_call_) {
        actions->push_back([call = inspect_call_] { call->Cancel(); });
      }
    }
  }

  void InspectPulled() {
    Hold(&inspect_call_,
         pull_api().InspectImage(pull_target().image,
                                 [self = self()](engine::Result<engine::ContainerDocument> res) {
                                   self->Update([&] {
                                     if (!res.ok()) {
                                       return self->Fail(ToGrpcStatus(res.status()));
                                     }
                                     Response msg;
                                     auto* pulled = msg.mutable_pulled();
                                     pulled->set_image(self->pull_target().image);
                                     pulled->set_id(GetString(res->json, "Id"));
                                     pulled->set_digest(self->pulled_digest());
                                     self->out_.Push(std::move(msg));
                                     self->Complete();
                                   });
                                 }));
  }

  // Guarded by mu_.
  bool inspecting_ = false;
  std::shared_ptr<engine::Call> inspect_call_;
};

}  // namespace

std::shared_ptr<engine::Call> PullQuietly(const engine::DockerApi& api, const PullTarget& target,
                                          engine::StatusDone done) {
  auto chain = std::make_shared<engine::CallChain>();
  chain->Set(1, api.PullImage(target, [chain, done](engine::Result<engine::ApiResponse> res,
                                                    std::shared_ptr<engine::BodyStream> body) {
    if (!res.status().ok()) {
      return done(PullReplyStatus(res.status()));
    }
    // The body is only parsed for its error line; a few MiB is thousands of layers' progress.
    chain->Set(2, body);
    engine::ReadAll(
        body,
        [done](const engine::Status& st, std::string text) {
          if (!st.ok()) {
            return done(st);
          }
          PullProgressParser parser;
          engine::Status parsed = parser.Feed(text, [](v1::PullProgress&&) {});
          done(parsed.ok() ? parser.Finish() : parsed);
        },
        kMaxQuietPullBody);
  }));
  return chain;
}

grpc::ServerWriteReactor<Response>* rpc::PullImage(const RpcEnv& env, grpc::CallbackServerContext*,
                                                   const v1::PullImageRequest* request) {
  if (grpc::Status st = ValidateImageRef("image", request->image()); !st.ok()) {
    return new RejectedStream<Response>(std::move(st));
  }
  if (request->image().starts_with("sha256:")) {
    return new RejectedStream<Response>(InvalidField(
        "image", "is an image id; a pull takes a reference (\"name:tag\" or \"name@sha256:...\")"));
  }
  return StartStream<PullCore>(
      env.api, MakePullTarget(request->image(), request->platform(), request->registry_auth()));
}

grpc::ServerUnaryReactor* rpc::ListImages(const RpcEnv& env, grpc::CallbackServerContext*,
                                          const v1::ListImagesRequest* req,
                                          v1::ListImagesResponse* resp) {
  engine::ListImagesQuery query;
  query.all = req->all();
  if (req->filters_size() > 0) {
    if (grpc::Status st = FiltersToJson("filters", req->filters(), &query.filters); !st.ok()) {
      return Reject(st);
    }
  }
  if (!req->name().empty()) {
    // docker-py's images.list(name): the reference filter.
    query.filters["reference"].push_back(req->name());
  }
  return UnaryEngineCall<json>([&](auto done) { return env.api.ListImages(query, done); },
                               [resp](const json& list) {
                                 for (const auto& item : list) {
                                   ImageSummaryFromJson(item, resp->add_images());
                                 }
                                 return grpc::Status::OK;
                               });
}

grpc::ServerUnaryReactor* rpc::InspectImage(const RpcEnv& env, grpc::CallbackServerContext*,
                                            const v1::InspectImageRequest* req,
                                            v1::InspectImageResponse* resp) {
  if (grpc::Status st = ValidateImageRef("image", req->image()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<engine::ContainerDocument>(
      [&](auto done) { return env.api.InspectImage(req->image(), done); },
      [resp](engine::ContainerDocument& doc) {
        ImageInfoFromJson(doc.json, resp->mutable_image());
        resp->set_raw_json(std::move(doc.raw));
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* rpc::RemoveImage(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::RemoveImageRequest* req,
                                           v1::RemoveImageResponse* resp) {
  if (grpc::Status st = ValidateImageRef("image", req->image()); !st.ok()) {
    return Reject(st);
  }
  return UnaryEngineCall<json>(
      [&](auto done) {
        return env.api.RemoveImage(req->image(), req->force(), req->no_prune(), done);
      },
      [resp](const json& deleted) {
        ImagesDeletedFromJson(deleted, resp->mutable_deleted());
        return grpc::Status::OK;
      });
}

}  // namespace dockline::server
