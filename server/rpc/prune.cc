#include "server/rpc/prune.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/status_map.h"
#include "server/reactor/unary_call.h"

namespace dockline::server {
namespace {

using engine::PruneTarget;
using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

// One prune as a chain of engine calls on the one unary chain. Each step is tracked, so a client
// cancel closes the step in flight and its callback then finishes the RPC with CANCELLED. The
// POST /<kind>/prune step has no deadline of its own (docker_api's rule): it lasts as long as the
// deleting does, bounded by the RPC's deadline and cancellation.
//
// Thread rules: a PruneChain is an immutable value copied into every step's callback. Each step
// is started from the callback of the one before it, so the steps never overlap and what a chain
// gathers (behind a shared_ptr) is touched by one engine thread at a time, without a lock. The
// response is written only by the `fill` of the Finish that ends the chain (UnaryHandle runs it
// once, under its lock), so a cancel racing the last step cannot see it half written.
struct PruneChain {
  engine::DockerApi api;
  UnaryHandle handle;

  // The callback of a step that delivers a document: the document goes to `next`; a failure
  // (a cancel included) finishes the RPC through the status table.
  template <typename Next>
  engine::Done<json> Then(Next next) const {
    return [handle = handle, next = std::move(next)](engine::Result<json> res) mutable {
      if (!res.ok()) {
        return handle.Fail(res.status());
      }
      next(std::move(res.value()));
    };
  }

  void Track(std::shared_ptr<engine::Call> step) const { handle.Track(std::move(step)); }
};

// Checks the filters (INVALID_ARGUMENT before any engine call), then starts the chain `body`
// with the daemon's form of them.
template <typename Body>
grpc::ServerUnaryReactor* StartPrune(const RpcEnv& env, PruneKind kind,
                                     const v1::PruneFilters& filters, Body&& body) {
  json daemon_filters;
  if (grpc::Status st = PruneFiltersToJson(kind, filters, &daemon_filters); !st.ok()) {
    return Reject(std::move(st));
  }
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  body(PruneChain{env.api, std::move(handle)}, std::move(daemon_filters));
  return reactor;
}

// The prune itself: one POST /<kind>/prune whose reply `from_json` turns into the response.
template <typename Response>
void RunPrune(const PruneChain& chain, PruneTarget target, const json& daemon_filters,
              void (*from_json)(const json&, Response*), Response* response) {
  chain.Track(
      chain.api.Prune(target, daemon_filters, chain.Then([chain, from_json, response](json reply) {
        chain.handle.Finish(grpc::Status::OK, [&] { from_json(reply, response); });
      })));
}

// A dry run: lists into the response what the prune would remove.
template <typename Response>
using DryRun = void (*)(const PruneChain&, v1::PruneFilters, const json&, Response*);

// A prune that is either its dry run or one POST /<kind>/prune as the filters are.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* PlainPrune(const RpcEnv& env, PruneKind kind, PruneTarget target,
                                     const Request* request, Response* response,
                                     DryRun<Response> dry_run,
                                     void (*from_json)(const json&, Response*)) {
  return StartPrune(env, kind, request->filters(),
                    [=](const PruneChain& chain, const json& filters) {
                      if (request->dry_run()) {
                        return dry_run(chain, request->filters(), filters, response);
                      }
                      RunPrune(chain, target, filters, from_json, response);
                    });
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Dry runs. Each lists what the matching prune would remove. Approximations, all on the side of
// listing what the daemon decides at prune time anyway: list items carry whole-second creation
// times, and image sizes count shared layers once per image.

void DryRunContainers(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                      v1::PruneContainersResponse* response) {
  // The daemon prunes every container that is not running: created, exited and dead (a paused
  // container counts as running).
  engine::ListContainersQuery query;
  query.all = true;
  query.size = true;
  query.filters = ListFilters(daemon_filters);
  query.filters["status"] = {"created", "exited", "dead"};
  chain.Track(chain.api.ListContainers(
      query, chain.Then([chain, filters = std::move(filters), response](json list) {
        std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
        chain.handle.Finish(grpc::Status::OK, [&] {
          for (const json& c : AsArray(list)) {
            if (!MatchPruneLabels(filters, LabelsOf(c)) ||
                TooNew(until, GetInt(c, "Created", -1) * 1000000000)) {
              continue;
            }
            std::string id = GetString(c, "Id");
            if (!id.empty()) {
              response->add_containers_deleted(id);
              response->set_space_reclaimed(response->space_reclaimed() + GetSize(c, "SizeRw"));
            }
          }
        });
      })));
}

void DryRunImages(const PruneChain& chain, v1::PruneFilters filters, json daemon_filters,
                  bool dangling, v1::PruneImagesResponse* response) {
  // Images any container uses (running or not) are never pruned.
  engine::ListContainersQuery all_containers;
  all_containers.all = true;
  chain.Track(chain.api.ListContainers(
      all_containers,
      chain.Then([chain, filters = std::move(filters), daemon_filters = std::move(daemon_filters),
                  dangling, response](json containers) {
        auto used = std::make_shared<std::set<std::string>>();
        for (const json& c : AsArray(containers)) {
          used->insert(GetString(c, "ImageID"));
        }
        engine::ListImagesQuery list;
        list.filters = ListFilters(daemon_filters);
        if (dangling) {
          list.filters["dangling"] = {"true"};
        }
        list.owner_scoped = true;
        chain.Track(chain.api.ListImages(list, chain.Then([chain, filters, used, dangling,
                                                           response](json images) {
          std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
          chain.handle.Finish(grpc::Status::OK, [&] {
            for (const json& img : AsArray(images)) {
              std::string id = GetString(img, "Id");
              if (id.empty() || used->count(id) > 0 || !MatchPruneLabels(filters, LabelsOf(img)) ||
                  TooNew(until, GetInt(img, "Created", -1) * 1000000000)) {
                continue;
              }
              if (!dangling) {
                for (const char* key : {"RepoTags", "RepoDigests"}) {
                  for (const json& ref : ArrayMember(img, key)) {
                    if (ref.is_string() && ref != "<none>:<none>" && ref != "<none>@<none>") {
                      response->add_images_deleted()->set_untagged(ref.get<std::string>());
                    }
                  }
                }
              }
              response->add_images_deleted()->set_deleted(id);
              response->set_space_reclaimed(response->space_reclaimed() + GetSize(img, "Size"));
            }
          });
        })));
      })));
}

// ---------------------------------------------------------------------------------------------
// Volumes.

// The volumes a prune would remove: unused (dangling), matching the labels, and anonymous
// unless `all`. Then their sizes from GET /system/df (the only place the Engine API reports
// volume sizes; -1 there means unknown and counts as 0).
using VolumeList = std::vector<std::pair<std::string, uint64_t>>;

void VolumeCandidates(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                      bool all, std::string api_version, std::function<void(VolumeList)> next) {
  json list_filters = ListFilters(daemon_filters);
  list_filters["dangling"] = {"true"};
  chain.Track(chain.api.ListVolumes(
      list_filters, chain.Then([chain, filters = std::move(filters), all,
                                api_version = std::move(api_version), next](json list) {
        auto names = std::make_shared<std::vector<std::string>>();
        for (const json& v : ArrayMember(list, "Volumes")) {
          if (!MatchPruneLabels(filters, LabelsOf(v))) {
            continue;
          }
          if (!all && !IsAnonymousVolume(v, api_version)) {
            continue;
          }
          std::string name = GetString(v, "Name");
          if (!name.empty()) {
            names->push_back(std::move(name));
          }
        }
        if (names->empty()) {
          return next({});
        }
        // 1.42+: ?type=volume skips sizing images and containers.
        std::string df_type =
            engine::CompareApiVersions(api_version, kVolumePruneAllVersion) >= 0 ? "volume" : "";
        chain.Track(chain.api.DiskUsage(df_type, chain.Then([names, next](json df) {
          std::map<std::string, uint64_t> sizes;
          for (const json& v : ArrayMember(df, "Volumes")) {
            const json* usage = Member(v, "UsageData");
            sizes[GetString(v, "Name")] = usage != nullptr ? GetSize(*usage, "Size") : 0;
          }
          VolumeList out;
          for (const std::string& name : *names) {
            auto it = sizes.find(name);
            out.emplace_back(name, it == sizes.end() ? 0 : it->second);
          }
          next(std::move(out));
        })));
      })));
}

// API 1.41 with all=false: its /volumes/prune would take named volumes too, so the anonymous
// ones are deleted one by one. A volume that went away or came into use meanwhile is skipped,
// as the daemon's own prune skips what it cannot remove. `removed` gathers what went.
void DeleteVolumes(const PruneChain& chain, std::shared_ptr<const VolumeList> volumes, size_t index,
                   std::shared_ptr<v1::PruneVolumesResponse> removed,
                   v1::PruneVolumesResponse* response) {
  if (index == volumes->size()) {
    return chain.handle.Finish(grpc::Status::OK, [&] { *response = *removed; });
  }
  chain.Track(chain.api.RemoveVolume((*volumes)[index].first, [chain, volumes, index, removed,
                                                               response](const engine::Status& st) {
    const auto& [name, size] = (*volumes)[index];
    if (st.ok()) {
      removed->add_volumes_deleted(name);
      removed->set_space_reclaimed(removed->space_reclaimed() + size);
    } else if (st.code() == engine::Code::kCancelled) {
      return chain.handle.Fail(st);
    } else if (st.code() != engine::Code::kNotFound && st.code() != engine::Code::kConflict) {
      return chain.handle.Finish(grpc::Status(
          ToGrpcCode(st.code()), "removing volume " + name + " failed after " +
                                     std::to_string(removed->volumes_deleted_size()) +
                                     " volume(s) were removed: " + StatusMessage(st.message())));
    }
    DeleteVolumes(chain, volumes, index + 1, removed, response);
  }));
}

void PruneVolumesAt(const PruneChain& chain, v1::PruneFilters filters, json daemon_filters,
                    bool all, bool dry_run, v1::PruneVolumesResponse* response) {
  std::string api_version = chain.api.ApiVersion();
  bool new_api = engine::CompareApiVersions(api_version, kVolumePruneAllVersion) >= 0;
  if (!dry_run && (new_api || all)) {
    if (new_api && all) {
      daemon_filters["all"] = {"true"};
    }
    return RunPrune(chain, PruneTarget::kVolumes, daemon_filters, &VolumesPruneFromJson, response);
  }
  VolumeCandidates(chain, std::move(filters), daemon_filters, all, api_version,
                   [chain, dry_run, response](VolumeList volumes) {
                     if (dry_run) {
                       return chain.handle.Finish(grpc::Status::OK, [&] {
                         for (const auto& [name, size] : volumes) {
                           response->add_volumes_deleted(name);
                           response->set_space_reclaimed(response->space_reclaimed() + size);
                         }
                       });
                     }
                     DeleteVolumes(chain, std::make_shared<const VolumeList>(std::move(volumes)), 0,
                                   std::make_shared<v1::PruneVolumesResponse>(), response);
                   });
}

// ---------------------------------------------------------------------------------------------
// Networks.

bool IsPredefinedNetwork(const std::string& name) {
  return name == "bridge" || name == "host" || name == "none" || name == "default" ||
         name == "ingress";
}

// (id, name) of the networks a prune would consider.
using NetworkList = std::vector<std::pair<std::string, std::string>>;

// Networks without endpoints: list items may not carry Containers, so each candidate is
// inspected; one that went away meanwhile is skipped. `unused` gathers the names.
void CheckNetworksUnused(const PruneChain& chain, std::shared_ptr<const NetworkList> nets,
                         size_t index, std::shared_ptr<std::vector<std::string>> unused,
                         v1::PruneNetworksResponse* response) {
  if (index == nets->size()) {
    return chain.handle.Finish(grpc::Status::OK, [&] {
      for (const std::string& name : *unused) {
        response->add_networks_deleted(name);
      }
    });
  }
  chain.Track(chain.api.InspectNetwork(
      (*nets)[index].first, [chain, nets, index, unused, response](engine::Result<json> res) {
        if (res.ok()) {
          const json* containers = Member(res.value(), "Containers");
          if (containers == nullptr || !containers->is_object() || containers->empty()) {
            unused->push_back((*nets)[index].second);
          }
        } else if (res.status().code() != engine::Code::kNotFound) {
          return chain.handle.Fail(res.status());
        }
        CheckNetworksUnused(chain, nets, index + 1, unused, response);
      }));
}

void DryRunNetworks(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                    v1::PruneNetworksResponse* response) {
  chain.Track(chain.api.ListNetworks(
      ListFilters(daemon_filters),
      chain.Then([chain, filters = std::move(filters), response](json list) {
        std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
        auto nets = std::make_shared<NetworkList>();
        for (const json& n : AsArray(list)) {
          std::string name = GetString(n, "Name");
          google::protobuf::Timestamp created;
          int64_t created_nanos = ParseDockerTime(GetString(n, "Created"), &created)
                                      ? TimeUtil::TimestampToNanoseconds(created)
                                      : -1;
          // The daemon's local prune skips predefined and config-only networks; swarm
          // networks are pruned by the cluster, not listed here.
          if (name.empty() || IsPredefinedNetwork(name) || GetBool(n, "ConfigOnly") ||
              GetBool(n, "Ingress") || GetString(n, "Scope") == "swarm" ||
              !MatchPruneLabels(filters, LabelsOf(n)) || TooNew(until, created_nanos)) {
            continue;
          }
          nets->emplace_back(GetString(n, "Id"), name);
        }
        CheckNetworksUnused(chain, nets, 0, std::make_shared<std::vector<std::string>>(), response);
      })));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

grpc::ServerUnaryReactor* rpc::PruneContainers(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::PruneContainersRequest* request,
                                               v1::PruneContainersResponse* response) {
  return PlainPrune(env, PruneKind::kContainers, PruneTarget::kContainers, request, response,
                    &DryRunContainers, &ContainersPruneFromJson);
}

grpc::ServerUnaryReactor* rpc::PruneImages(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::PruneImagesRequest* request,
                                           v1::PruneImagesResponse* response) {
  bool dangling = !request->has_dangling() || request->dangling();
  return StartPrune(
      env, PruneKind::kImages, request->filters(),
      [request, response, dangling](const PruneChain& chain, json filters) {
        if (request->dry_run()) {
          return DryRunImages(chain, request->filters(), std::move(filters), dangling, response);
        }
        // Sent either way: the daemon's default (true) is ours too, and saying it costs nothing.
        filters["dangling"] = {dangling ? "true" : "false"};
        RunPrune(chain, PruneTarget::kImages, filters, &ImagesPruneFromJson, response);
      });
}

grpc::ServerUnaryReactor* rpc::PruneVolumes(const RpcEnv& env, grpc::CallbackServerContext*,
                                            const v1::PruneVolumesRequest* request,
                                            v1::PruneVolumesResponse* response) {
  bool all = request->all();
  bool dry_run = request->dry_run();
  return StartPrune(env, PruneKind::kVolumes, request->filters(),
                    [request, response, all, dry_run](const PruneChain& chain, json filters) {
                      if (!chain.api.ApiVersion().empty()) {
                        return PruneVolumesAt(chain, request->filters(), std::move(filters), all,
                                              dry_run, response);
                      }
                      // What to send depends on the negotiated version; any versioned
                      // call negotiates it.
                      chain.Track(chain.api.Version(chain.Then(
                          [chain, f = request->filters(), filters, all, dry_run, response](json) {
                            PruneVolumesAt(chain, f, filters, all, dry_run, response);
                          })));
                    });
}

grpc::ServerUnaryReactor* rpc::PruneNetworks(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::PruneNetworksRequest* request,
                                             v1::PruneNetworksResponse* response) {
  return PlainPrune(env, PruneKind::kNetworks, PruneTarget::kNetworks, request, response,
                    &DryRunNetworks, &NetworksPruneFromJson);
}

}  // namespace dockline::server
