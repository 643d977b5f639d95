#include "server/rpc/prune.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "engine/api_version.h"
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
using json = nlohmann::json;

// The first API version whose volume prune spares named volumes unless all=true.
constexpr char kVolumePruneAllVersion[] = "1.42";
constexpr char kAnonymousVolumeLabel[] = "com.docker.volume.anonymous";

grpc::Status Invalid(const std::string& field, const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + message);
}

// A prune as a chain of engine calls on one CallReactor. Steps run one after another, each
// tracked so that a client cancel closes the one in flight; its callback then completes the RPC
// with CANCELLED. The POST /<kind>/prune step gets no deadline of its own: it lasts as long as
// the deleting does, bounded by the RPC deadline and cancellation.
class PruneFlow : public std::enable_shared_from_this<PruneFlow> {
 public:
  using Next = std::function<void(ApiResponse& reply)>;
  // Returns true when it dealt with the failure (the chain goes on), false to end the RPC.
  using OnError = std::function<bool(const engine::Status& status)>;

  PruneFlow(std::shared_ptr<engine::Engine> engine, std::shared_ptr<CallReactor::State> state,
            std::chrono::milliseconds unary_timeout)
      : engine_(std::move(engine)), state_(std::move(state)), unary_timeout_(unary_timeout) {}

  // A listing or inspect: bounded by the unary timeout.
  void Get(ApiRequest request, Next next, OnError on_error = nullptr) {
    request.timeout = unary_timeout_;
    Call(std::move(request), std::move(next), std::move(on_error));
  }

  void Call(ApiRequest request, Next next, OnError on_error = nullptr) {
    auto call = engine_->Unary(std::move(request),
                               [self = shared_from_this(), next = std::move(next),
                                on_error = std::move(on_error)](Result<ApiResponse> res) {
                                 if (!res.status().ok()) {
                                   if (res.status().code() != engine::Code::kCancelled &&
                                       on_error && on_error(res.status())) {
                                     return;
                                   }
                                   return self->Done(ToGrpcStatus(res.status()));
                                 }
                                 next(res.value());
                               });
    CallReactor::Track(state_, std::move(call));
  }

  void Done(grpc::Status status) { CallReactor::Complete(state_, std::move(status)); }

  engine::Engine& engine() { return *engine_; }
  std::chrono::milliseconds unary_timeout() const { return unary_timeout_; }

 private:
  std::shared_ptr<engine::Engine> engine_;
  std::shared_ptr<CallReactor::State> state_;
  std::chrono::milliseconds unary_timeout_;
};

// A reply body that must be JSON; INTERNAL names the endpoint when it is not.
bool ParseReply(PruneFlow& flow, const ApiResponse& reply, const char* what, json* out) {
  *out = json::parse(reply.body, nullptr, false);
  if (out->is_discarded()) {
    flow.Done(grpc::Status(grpc::StatusCode::INTERNAL,
                           std::string("the daemon's ") + what + " reply is not JSON"));
    return false;
  }
  return true;
}

// The array under `key` (null or absent: empty).
const json& ArrayMember(const json& j, std::string_view key) {
  static const json kEmpty = json::array();
  const json* m = Member(j, key);
  return m != nullptr && m->is_array() ? *m : kEmpty;
}

// `j` itself when it is an array (a list reply), else an empty one.
const json& AsArray(const json& j) {
  static const json kEmpty = json::array();
  return j.is_array() ? j : kEmpty;
}

// An object's Labels (null or absent: null, which matches no label).
const json& LabelsOf(const json& j) {
  static const json kNull;
  const json* labels = Member(j, "Labels");
  return labels != nullptr ? *labels : kNull;
}

uint64_t GetSize(const json& j, std::string_view key) {
  int64_t v = GetInt(j, key);
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

void AddStrings(const json& array, google::protobuf::RepeatedPtrField<std::string>* out) {
  if (!array.is_array()) {
    return;
  }
  for (const json& item : array) {
    if (item.is_string()) {
      out->Add(item.get<std::string>());
    }
  }
}

ApiRequest WithFilters(ApiRequest request, const json& filters) {
  if (!filters.empty()) {
    request.Query("filters", filters.dump());
  }
  return request;
}

// Copies the label filters of `daemon_filters` (what list endpoints understand; label! is not
// among them and is checked by MatchPruneLabels afterwards).
json ListFilters(const json& daemon_filters) {
  json out = json::object();
  if (const json* label = Member(daemon_filters, "label")) {
    out["label"] = *label;
  }
  return out;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Created after the until bound: the daemon keeps it. `created_nanos` < 0 means unknown (kept
// in the candidate list, as the daemon would have a time for it).
bool TooNew(std::optional<int64_t> until, int64_t created_nanos) {
  return until && created_nanos >= 0 && created_nanos > *until;
}

// ---------------------------------------------------------------------------------------------
// Dry runs. Each lists what the matching prune would remove. Approximations, all on the side of
// listing what the daemon decides at prune time anyway: list items carry whole-second creation
// times, and image sizes count shared layers once per image.

void DryRunContainers(std::shared_ptr<PruneFlow> flow, v1::PruneFilters filters,
                      json daemon_filters, v1::PruneContainersResponse* response) {
  // The daemon prunes every container that is not running: created, exited and dead (a paused
  // container counts as running).
  json list_filters = ListFilters(daemon_filters);
  list_filters["status"] = {"created", "exited", "dead"};
  ApiRequest list = WithFilters(ApiRequest("GET", "/containers/json"), list_filters);
  list.Query("all", "1").Query("size", "1");
  flow->Get(std::move(list), [flow, filters = std::move(filters), response](ApiResponse& reply) {
    json j;
    if (!ParseReply(*flow, reply, "container list", &j)) {
      return;
    }
    std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
    for (const json& c : AsArray(j)) {
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
    flow->Done(grpc::Status::OK);
  });
}

void DryRunImages(std::shared_ptr<PruneFlow> flow, v1::PruneFilters filters, json daemon_filters,
                  bool dangling, v1::PruneImagesResponse* response) {
  // Images any container uses (running or not) are never pruned.
  ApiRequest containers("GET", "/containers/json");
  containers.Query("all", "1");
  flow->Get(std::move(containers), [flow, filters = std::move(filters),
                                    daemon_filters = std::move(daemon_filters), dangling,
                                    response](ApiResponse& reply) {
    json used_list;
    if (!ParseReply(*flow, reply, "container list", &used_list)) {
      return;
    }
    auto used = std::make_shared<std::set<std::string>>();
    if (used_list.is_array()) {
      for (const json& c : used_list) {
        used->insert(GetString(c, "ImageID"));
      }
    }
    json list_filters = ListFilters(daemon_filters);
    if (dangling) {
      list_filters["dangling"] = {"true"};
    }
    flow->Get(WithFilters(ApiRequest("GET", "/images/json"), list_filters),
              [flow, filters, used, dangling, response](ApiResponse& reply) {
                json j;
                if (!ParseReply(*flow, reply, "image list", &j)) {
                  return;
                }
                std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
                for (const json& img : AsArray(j)) {
                  std::string id = GetString(img, "Id");
                  if (id.empty() || used->count(id) > 0 ||
                      !MatchPruneLabels(filters, LabelsOf(img)) ||
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
                flow->Done(grpc::Status::OK);
              });
  });
}

// The volumes a prune would remove: unused (dangling), matching the labels, and anonymous
// unless `all`. Then their sizes from GET /system/df (the only place the Engine API reports
// volume sizes; -1 there means unknown and counts as 0).
using VolumeList = std::vector<std::pair<std::string, uint64_t>>;

void VolumeCandidates(std::shared_ptr<PruneFlow> flow, v1::PruneFilters filters,
                      json daemon_filters, bool all, std::string api_version,
                      std::function<void(VolumeList)> next) {
  json list_filters = ListFilters(daemon_filters);
  list_filters["dangling"] = {"true"};
  flow->Get(WithFilters(ApiRequest("GET", "/volumes"), list_filters),
            [flow, filters = std::move(filters), all, api_version, next](ApiResponse& reply) {
              json j;
              if (!ParseReply(*flow, reply, "volume list", &j)) {
                return;
              }
              auto names = std::make_shared<std::vector<std::string>>();
              for (const json& v : ArrayMember(j, "Volumes")) {
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
              ApiRequest df("GET", "/system/df");
              if (engine::CompareApiVersions(api_version, kVolumePruneAllVersion) >= 0) {
                df.Query("type", "volume");  // 1.42+: skip sizing images and containers
              }
              flow->Get(std::move(df), [flow, names, next](ApiResponse& reply) {
                json df_json = json::parse(reply.body, nullptr, false);
                std::map<std::string, uint64_t> sizes;
                for (const json& v : ArrayMember(df_json, "Volumes")) {
                  const json* usage = Member(v, "UsageData");
                  sizes[GetString(v, "Name")] = usage != nullptr ? GetSize(*usage, "Size") : 0;
                }
                VolumeList out;
                for (const std::string& name : *names) {
                  auto it = sizes.find(name);
                  out.emplace_back(name, it == sizes.end() ? 0 : it->second);
                }
                next(std::move(out));
              });
            });
}

// API 1.41 with all=false: its /volumes/prune would take named volumes too, so the anonymous
// ones are deleted one by one. A volume that went away or came into use meanwhile is skipped,
// as the daemon's own prune skips what it cannot remove.
void DeleteVolumes(std::shared_ptr<PruneFlow> flow, std::shared_ptr<VolumeList> volumes,
                   size_t index, v1::PruneVolumesResponse* response) {
  if (index == volumes->size()) {
    return flow->Done(grpc::Status::OK);
  }
  const auto& [name, size] = (*volumes)[index];
  ApiRequest del("DELETE", "/volumes/" + EscapePathSegment(name));
  del.timeout = flow->unary_timeout();
  auto next = [flow, volumes, index, response] {
    DeleteVolumes(flow, volumes, index + 1, response);
  };
  flow->Call(
      std::move(del),
      [response, name = name, size = size, next](ApiResponse&) {
        response->add_volumes_deleted(name);
        response->set_space_reclaimed(response->space_reclaimed() + size);
        next();
      },
      [flow, next, response, name = name](const engine::Status& st) {
        if (st.code() == engine::Code::kNotFound || st.code() == engine::Code::kConflict) {
          next();
          return true;
        }
        flow->Done(grpc::Status(ToGrpcCode(st.code()),
                                "removing volume " + name + " failed after " +
                                    std::to_string(response->volumes_deleted_size()) +
                                    " volume(s) were removed: " + st.message()));
        return true;
      });
}

void PruneVolumesAt(std::shared_ptr<PruneFlow> flow, v1::PruneFilters filters, json daemon_filters,
                    bool all, bool dry_run, v1::PruneVolumesResponse* response) {
  std::string api_version = flow->engine().ApiVersion();
  bool new_api = engine::CompareApiVersions(api_version, kVolumePruneAllVersion) >= 0;
  if (!dry_run && (new_api || all)) {
    if (new_api && all) {
      daemon_filters["all"] = {"true"};
    }
    flow->Call(WithFilters(ApiRequest("POST", "/volumes/prune"), daemon_filters),
               [flow, response](ApiResponse& reply) {
                 json j;
                 if (!ParseReply(*flow, reply, "volume prune", &j)) {
                   return;
                 }
                 VolumesPruneFromJson(j, response);
                 flow->Done(grpc::Status::OK);
               });
    return;
  }
  VolumeCandidates(flow, std::move(filters), std::move(daemon_filters), all, api_version,
                   [flow, dry_run, response](VolumeList volumes) {
                     if (dry_run) {
                       for (const auto& [name, size] : volumes) {
                         response->add_volumes_deleted(name);
                         response->set_space_reclaimed(response->space_reclaimed() + size);
                       }
                       return flow->Done(grpc::Status::OK);
                     }
                     DeleteVolumes(flow, std::make_shared<VolumeList>(std::move(volumes)), 0,
                                   response);
                   });
}

bool IsPredefinedNetwork(const std::string& name) {
  return name == "bridge" || name == "host" || name == "none" || name == "default" ||
         name == "ingress";
}

// Networks without endpoints: list items may not carry Containers, so each candidate is
// inspected.
void CheckNetworksUnused(std::shared_ptr<PruneFlow> flow,
                         std::shared_ptr<std::vector<std::pair<std::string, std::string>>> nets,
                         size_t index, v1::PruneNetworksResponse* response) {
  if (index == nets->size()) {
    return flow->Done(grpc::Status::OK);
  }
  const auto& [id, name] = (*nets)[index];
  flow->Get(
      ApiRequest("GET", "/networks/" + EscapePathSegment(id)),
      [flow, nets, index, response, name = name](ApiResponse& reply) {
        json j = json::parse(reply.body, nullptr, false);
        const json* containers = Member(j, "Containers");
        if (containers == nullptr || !containers->is_object() || containers->empty()) {
          response->add_networks_deleted(name);
        }
        CheckNetworksUnused(flow, nets, index + 1, response);
      },
      [flow, nets, index, response](const engine::Status& st) {
        if (st.code() != engine::Code::kNotFound) {
          return false;
        }
        CheckNetworksUnused(flow, nets, index + 1, response);
        return true;
      });
}

void DryRunNetworks(std::shared_ptr<PruneFlow> flow, v1::PruneFilters filters, json daemon_filters,
                    v1::PruneNetworksResponse* response) {
  flow->Get(WithFilters(ApiRequest("GET", "/networks"), ListFilters(daemon_filters)),
            [flow, filters = std::move(filters), response](ApiResponse& reply) {
              json j;
              if (!ParseReply(*flow, reply, "network list", &j)) {
                return;
              }
              std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
              auto nets = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
              for (const json& n : AsArray(j)) {
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
              CheckNetworksUnused(flow, nets, 0, response);
            });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string GoDurationText(const google::protobuf::Duration& duration) {
  int64_t seconds = duration.seconds();
  int32_t nanos = duration.nanos();
  if (nanos == 0) {
    return std::to_string(seconds) + "s";
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%lld.%09d", static_cast<long long>(seconds), nanos);
  std::string text = buf;
  while (text.back() == '0') {
    text.pop_back();
  }
  return text + "s";
}

grpc::Status PruneFiltersToJson(PruneKind kind, const v1::PruneFilters& filters, json* out) {
  *out = json::object();
  switch (filters.until_case()) {
    case v1::PruneFilters::kUntilTime: {
      if (kind == PruneKind::kVolumes) {
        return Invalid("filters.until_time",
                       "volume prune has no time filter (the daemon refuses until)");
      }
      const auto& t = filters.until_time();
      if (t.seconds() < 0 || t.nanos() < 0 || t.nanos() > 999999999) {
        return Invalid("filters.until_time", "must be a valid time after 1970");
      }
      char buf[48];
      std::snprintf(buf, sizeof(buf), "%lld.%09d", static_cast<long long>(t.seconds()), t.nanos());
      (*out)["until"] = {std::string(buf)};
      break;
    }
    case v1::PruneFilters::kOlderThan: {
      if (kind == PruneKind::kVolumes) {
        return Invalid("filters.older_than",
                       "volume prune has no time filter (the daemon refuses until)");
      }
      const auto& d = filters.older_than();
      if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999) {
        return Invalid("filters.older_than", "must not be negative");
      }
      // A Go duration: the daemon counts it back from its own clock.
      (*out)["until"] = {GoDurationText(d)};
      break;
    }
    case v1::PruneFilters::UNTIL_NOT_SET:
      break;
  }
  const std::pair<const char*, const google::protobuf::RepeatedPtrField<std::string>*> lists[] = {
      {"labels", &filters.labels()}, {"labels_not", &filters.labels_not()}};
  for (const auto& [field, values] : lists) {
    for (int i = 0; i < values->size(); ++i) {
      const std::string& label = (*values)[i];
      std::string path = std::string("filters.") + field + "[" + std::to_string(i) + "]";
      if (label.empty() || label.front() == '=') {
        return Invalid(path, "must be \"key\" or \"key=value\", got \"" + label + "\"");
      }
      for (char c : label) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          return Invalid(path, "must not contain control characters");
        }
      }
    }
    if (!values->empty()) {
      json& list = (*out)[field == std::string("labels") ? "label" : "label!"];
      for (const std::string& label : *values) {
        list.push_back(label);
      }
    }
  }
  return grpc::Status::OK;
}

bool MatchPruneLabels(const v1::PruneFilters& filters, const json& labels) {
  // filters.Args.MatchKVList: every entry must be present (with its value when given); no
  // labels at all matches nothing.
  auto match_all = [&labels](const google::protobuf::RepeatedPtrField<std::string>& entries) {
    for (const std::string& entry : entries) {
      size_t eq = entry.find('=');
      std::string key = entry.substr(0, eq);
      const json* value = Member(labels, key);
      if (value == nullptr) {
        return false;
      }
      if (eq != std::string::npos &&
          (!value->is_string() || value->get<std::string>() != entry.substr(eq + 1))) {
        return false;
      }
    }
    return true;
  };
  if (!match_all(filters.labels())) {
    return false;
  }
  return filters.labels_not().empty() || !match_all(filters.labels_not());
}

std::optional<int64_t> PruneUntilNanos(const v1::PruneFilters& filters, int64_t now_nanos) {
  switch (filters.until_case()) {
    case v1::PruneFilters::kUntilTime:
      return TimeUtil::TimestampToNanoseconds(filters.until_time());
    case v1::PruneFilters::kOlderThan:
      return now_nanos - TimeUtil::DurationToNanoseconds(filters.older_than());
    case v1::PruneFilters::UNTIL_NOT_SET:
      break;
  }
  return std::nullopt;
}

bool IsAnonymousVolume(const json& volume, const std::string& api_version) {
  const json* labels = Member(volume, "Labels");
  if (labels != nullptr && Member(*labels, kAnonymousVolumeLabel) != nullptr) {
    return true;
  }
  if (engine::CompareApiVersions(api_version, kVolumePruneAllVersion) >= 0) {
    // The daemon itself goes by the label only.
    return false;
  }
  std::string name = GetString(volume, "Name");
  return name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void ContainersPruneFromJson(const json& reply, v1::PruneContainersResponse* out) {
  AddStrings(ArrayMember(reply, "ContainersDeleted"), out->mutable_containers_deleted());
  out->set_space_reclaimed(GetSize(reply, "SpaceReclaimed"));
}

void ImagesPruneFromJson(const json& reply, v1::PruneImagesResponse* out) {
  for (const json& item : ArrayMember(reply, "ImagesDeleted")) {
    if (!item.is_object()) {
      continue;
    }
    v1::ImageDeleted* deleted = out->add_images_deleted();
    deleted->set_untagged(GetString(item, "Untagged"));
    deleted->set_deleted(GetString(item, "Deleted"));
  }
  out->set_space_reclaimed(GetSize(reply, "SpaceReclaimed"));
}

void VolumesPruneFromJson(const json& reply, v1::PruneVolumesResponse* out) {
  AddStrings(ArrayMember(reply, "VolumesDeleted"), out->mutable_volumes_deleted());
  out->set_space_reclaimed(GetSize(reply, "SpaceReclaimed"));
}

void NetworksPruneFromJson(const json& reply, v1::PruneNetworksResponse* out) {
  AddStrings(ArrayMember(reply, "NetworksDeleted"), out->mutable_networks_deleted());
}

grpc::ServerUnaryReactor* rpc::PruneContainers(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::PruneContainersRequest* request,
                                               v1::PruneContainersResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  json filters;
  if (grpc::Status st = PruneFiltersToJson(PruneKind::kContainers, request->filters(), &filters);
      !st.ok()) {
    return Reject(std::move(st));
  }
  auto* reactor = new CallReactor();
  auto flow = std::make_shared<PruneFlow>(std::move(engine), reactor->state(), unary_timeout);
  if (request->dry_run()) {
    DryRunContainers(flow, request->filters(), std::move(filters), response);
    return reactor;
  }
  flow->Call(WithFilters(ApiRequest("POST", "/containers/prune"), filters),
             [flow, response](ApiResponse& reply) {
               json j;
               if (!ParseReply(*flow, reply, "container prune", &j)) {
                 return;
               }
               ContainersPruneFromJson(j, response);
               flow->Done(grpc::Status::OK);
             });
  return reactor;
}

grpc::ServerUnaryReactor* rpc::PruneImages(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::PruneImagesRequest* request,
                                           v1::PruneImagesResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  json filters;
  if (grpc::Status st = PruneFiltersToJson(PruneKind::kImages, request->filters(), &filters);
      !st.ok()) {
    return Reject(std::move(st));
  }
  bool dangling = !request->has_dangling() || request->dangling();
  auto* reactor = new CallReactor();
  auto flow = std::make_shared<PruneFlow>(std::move(engine), reactor->state(), unary_timeout);
  if (request->dry_run()) {
    DryRunImages(flow, request->filters(), std::move(filters), dangling, response);
    return reactor;
  }
  // Sent either way: the daemon's default (true) is ours too, and saying it costs nothing.
  filters["dangling"] = {dangling ? "true" : "false"};
  flow->Call(WithFilters(ApiRequest("POST", "/images/prune"), filters),
             [flow, response](ApiResponse& reply) {
               json j;
               if (!ParseReply(*flow, reply, "image prune", &j)) {
                 return;
               }
               ImagesPruneFromJson(j, response);
               flow->Done(grpc::Status::OK);
             });
  return reactor;
}

grpc::ServerUnaryReactor* rpc::PruneVolumes(const RpcEnv& env, grpc::CallbackServerContext*,
                                            const v1::PruneVolumesRequest* request,
                                            v1::PruneVolumesResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  json filters;
  if (grpc::Status st = PruneFiltersToJson(PruneKind::kVolumes, request->filters(), &filters);
      !st.ok()) {
    return Reject(std::move(st));
  }
  auto* reactor = new CallReactor();
  auto flow = std::make_shared<PruneFlow>(std::move(engine), reactor->state(), unary_timeout);
  bool all = request->all();
  bool dry_run = request->dry_run();
  if (flow->engine().ApiVersion().empty()) {
    // What to send depends on the negotiated version; any versioned call negotiates it.
    flow->Get(ApiRequest("GET", "/version"),
              [flow, f = request->filters(), filters, all, dry_run, response](ApiResponse&) {
                PruneVolumesAt(flow, f, filters, all, dry_run, response);
              });
    return reactor;
  }
  PruneVolumesAt(flow, request->filters(), std::move(filters), all, dry_run, response);
  return reactor;
}

grpc::ServerUnaryReactor* rpc::PruneNetworks(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::PruneNetworksRequest* request,
                                             v1::PruneNetworksResponse* response) {
  auto engine = env.api.engine_ptr();
  auto unary_timeout = env.options.unary_timeout;
  json filters;
  if (grpc::Status st = PruneFiltersToJson(PruneKind::kNetworks, request->filters(), &filters);
      !st.ok()) {
    return Reject(std::move(st));
  }
  auto* reactor = new CallReactor();
  auto flow = std::make_shared<PruneFlow>(std::move(engine), reactor->state(), unary_timeout);
  if (request->dry_run()) {
    DryRunNetworks(flow, request->filters(), std::move(filters), response);
    return reactor;
  }
  flow->Call(WithFilters(ApiRequest("POST", "/networks/prune"), filters),
             [flow, response](ApiResponse& reply) {
               json j;
               if (!ParseReply(*flow, reply, "network prune", &j)) {
                 return;
               }
               NetworksPruneFromJson(j, response);
               flow->Done(grpc::Status::OK);
             });
  return reactor;
}

}  // namespace dockline::server
