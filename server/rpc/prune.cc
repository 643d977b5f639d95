#include "server/rpc/prune.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "server/codec/field_error.h"
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

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Candidates: what a prune would remove, each object as a plan names it. A dry run reports them;
// applying a plan lists them again (without filters) to see which of the plan's objects are
// still prunable. Approximations, all on the side of listing what the daemon decides at prune
// time anyway: list items carry whole-second creation times, and image sizes count shared layers
// once per image.

struct Candidate {
  std::string id;    // container, image or network id; volume name
  std::string name;  // container name, the image's first reference, volume or network name
  uint64_t size = 0;
  std::vector<std::string> refs;  // images: the tags and digests an unused-image prune untags
};
using Candidates = std::vector<Candidate>;
using CandidatesNext = std::function<void(Candidates)>;

// Whether `want` (an id from a plan or a caller's list) names the object: its id, a prefix of
// it of 12 characters or more (docker's short ids), or its name.
bool Names(const std::string& want, const std::string& id, const std::string& name) {
  if (want == id || (!name.empty() && want == name)) {
    return true;
  }
  std::string_view bare = id;
  if (bare.substr(0, 7) == "sha256:") {
    bare.remove_prefix(7);
  }
  return want.size() >= 12 && (id.compare(0, want.size(), want) == 0 ||
                               bare.substr(0, want.size()) == std::string_view(want));
}

void ContainerCandidates(const PruneChain& chain, v1::PruneFilters filters,
                         const json& daemon_filters, CandidatesNext next) {
  // The daemon prunes every container that is not running: created, exited and dead (a paused
  // container counts as running).
  engine::ListContainersQuery query;
  query.all = true;
  query.size = true;
  query.filters = ListFilters(daemon_filters);
  query.filters["status"] = {"created", "exited", "dead"};
  chain.Track(chain.api.ListContainers(
      query, chain.Then([filters = std::move(filters), next = std::move(next)](json list) {
        std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
        Candidates out;
        for (const json& c : AsArray(list)) {
          if (!MatchPruneLabels(filters, LabelsOf(c)) ||
              TooNew(until, GetInt(c, "Created", -1) * 1000000000)) {
            continue;
          }
          Candidate candidate{GetString(c, "Id"), "", GetSize(c, "SizeRw"), {}};
          for (const json& name : ArrayMember(c, "Names")) {
            if (name.is_string() && candidate.name.empty()) {
              candidate.name = name.get<std::string>();
              if (!candidate.name.empty() && candidate.name[0] == '/') {
                candidate.name.erase(0, 1);
              }
            }
          }
          if (!candidate.id.empty()) {
            out.push_back(std::move(candidate));
          }
        }
        next(std::move(out));
      })));
}

void ImageCandidates(const PruneChain& chain, v1::PruneFilters filters, json daemon_filters,
                     bool dangling, CandidatesNext next) {
  // Images any container uses (running or not) are never pruned.
  engine::ListContainersQuery all_containers;
  all_containers.all = true;
  chain.Track(chain.api.ListContainers(
      all_containers,
      chain.Then([chain, filters = std::move(filters), daemon_filters = std::move(daemon_filters),
                  dangling, next = std::move(next)](json containers) {
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
        chain.Track(chain.api.ListImages(list, chain.Then([filters, used, next](json images) {
          std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
          Candidates out;
          for (const json& img : AsArray(images)) {
            std::string id = GetString(img, "Id");
            if (id.empty() || used->count(id) > 0 || !MatchPruneLabels(filters, LabelsOf(img)) ||
                TooNew(until, GetInt(img, "Created", -1) * 1000000000)) {
              continue;
            }
            Candidate candidate{std::move(id), "", GetSize(img, "Size"), {}};
            for (const char* key : {"RepoTags", "RepoDigests"}) {
              for (const json& ref : ArrayMember(img, key)) {
                if (ref.is_string() && ref != "<none>:<none>" && ref != "<none>@<none>") {
                  candidate.refs.push_back(ref.get<std::string>());
                }
              }
            }
            if (!candidate.refs.empty()) {
              candidate.name = candidate.refs.front();
            }
            out.push_back(std::move(candidate));
          }
          next(std::move(out));
        })));
      })));
}

// The volumes a prune would remove: unused (dangling), matching the labels, and anonymous
// unless `all`. Then their sizes from GET /system/df (the only place the Engine API reports
// volume sizes; -1 there means unknown and counts as 0).
void VolumeCandidates(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                      bool all, std::string api_version, CandidatesNext next) {
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
          Candidates out;
          for (const std::string& name : *names) {
            auto it = sizes.find(name);
            out.push_back(Candidate{name, name, it == sizes.end() ? 0 : it->second, {}});
          }
          next(std::move(out));
        })));
      })));
}

bool IsPredefinedNetwork(const std::string& name) {
  return name == "bridge" || name == "host" || name == "none" || name == "default" ||
         name == "ingress";
}

// The networks a prune would consider; the daemon's local prune skips predefined and
// config-only networks, and swarm networks are pruned by the cluster, not listed here.
bool PrunableNetwork(const json& n) {
  std::string name = GetString(n, "Name");
  return !name.empty() && !IsPredefinedNetwork(name) && !GetBool(n, "ConfigOnly") &&
         !GetBool(n, "Ingress") && GetString(n, "Scope") != "swarm";
}

// Networks without endpoints: list items may not carry Containers, so each candidate is
// inspected; one that went away meanwhile is skipped. `unused` gathers them.
void CheckNetworksUnused(const PruneChain& chain, std::shared_ptr<const Candidates> nets,
                         size_t index, std::shared_ptr<Candidates> unused, CandidatesNext next) {
  if (index == nets->size()) {
    return next(std::move(*unused));
  }
  chain.Track(chain.api.InspectNetwork(
      (*nets)[index].id, [chain, nets, index, unused, next](engine::Result<json> res) {
        if (res.ok()) {
          const json* containers = Member(res.value(), "Containers");
          if (containers == nullptr || !containers->is_object() || containers->empty()) {
            unused->push_back((*nets)[index]);
          }
        } else if (res.status().code() != engine::Code::kNotFound) {
          return chain.handle.Fail(res.status());
        }
        CheckNetworksUnused(chain, nets, index + 1, unused, next);
      }));
}

void NetworkCandidates(const PruneChain& chain, v1::PruneFilters filters,
                       const json& daemon_filters, CandidatesNext next) {
  chain.Track(chain.api.ListNetworks(
      ListFilters(daemon_filters),
      chain.Then([chain, filters = std::move(filters), next](json list) {
        std::optional<int64_t> until = PruneUntilNanos(filters, NowNanos());
        auto nets = std::make_shared<Candidates>();
        for (const json& n : AsArray(list)) {
          google::protobuf::Timestamp created;
          int64_t created_nanos = ParseDockerTime(GetString(n, "Created"), &created)
                                      ? TimeUtil::TimestampToNanoseconds(created)
                                      : -1;
          if (!PrunableNetwork(n) || !MatchPruneLabels(filters, LabelsOf(n)) ||
              TooNew(until, created_nanos)) {
            continue;
          }
          nets->push_back(Candidate{GetString(n, "Id"), GetString(n, "Name"), 0, {}});
        }
        CheckNetworksUnused(chain, nets, 0, std::make_shared<Candidates>(), next);
      })));
}

// ---------------------------------------------------------------------------------------------
// Dry runs: the candidates as docker's prune reply would list them, and as a plan.

template <typename Response>
void FillPlan(PruneKind kind, const Candidates& candidates, Response* response) {
  std::vector<std::string> ids;
  v1::PrunePlan* plan = response->mutable_plan();
  for (const Candidate& c : candidates) {
    v1::PrunePlanItem* item = plan->add_items();
    item->set_id(c.id);
    item->set_name(c.name);
    item->set_size(c.size);
    ids.push_back(c.id);
  }
  plan->set_token(EncodePrunePlanToken(kind, ids));
}

void DryRunContainers(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                      v1::PruneContainersResponse* response) {
  ContainerCandidates(chain, std::move(filters), daemon_filters,
                      [chain, response](Candidates candidates) {
                        chain.handle.Finish(grpc::Status::OK, [&] {
                          for (const Candidate& c : candidates) {
                            response->add_containers_deleted(c.id);
                            response->set_space_reclaimed(response->space_reclaimed() + c.size);
                          }
                          FillPlan(PruneKind::kContainers, candidates, response);
                        });
                      });
}

void DryRunImages(const PruneChain& chain, v1::PruneFilters filters, json daemon_filters,
                  bool dangling, v1::PruneImagesResponse* response) {
  ImageCandidates(chain, std::move(filters), std::move(daemon_filters), dangling,
                  [chain, dangling, response](Candidates candidates) {
                    chain.handle.Finish(grpc::Status::OK, [&] {
                      for (const Candidate& c : candidates) {
                        if (!dangling) {
                          for (const std::string& ref : c.refs) {
                            response->add_images_deleted()->set_untagged(ref);
                          }
                        }
                        response->add_images_deleted()->set_deleted(c.id);
                        response->set_space_reclaimed(response->space_reclaimed() + c.size);
                      }
                      FillPlan(PruneKind::kImages, candidates, response);
                    });
                  });
}

void DryRunVolumes(const PruneChain& chain, Candidates candidates,
                   v1::PruneVolumesResponse* response) {
  chain.handle.Finish(grpc::Status::OK, [&] {
    for (const Candidate& c : candidates) {
      response->add_volumes_deleted(c.id);
      response->set_space_reclaimed(response->space_reclaimed() + c.size);
    }
    FillPlan(PruneKind::kVolumes, candidates, response);
  });
}

void DryRunNetworks(const PruneChain& chain, v1::PruneFilters filters, const json& daemon_filters,
                    v1::PruneNetworksResponse* response) {
  NetworkCandidates(chain, std::move(filters), daemon_filters,
                    [chain, response](Candidates candidates) {
                      chain.handle.Finish(grpc::Status::OK, [&] {
                        for (const Candidate& c : candidates) {
                          response->add_networks_deleted(c.name);
                        }
                        FillPlan(PruneKind::kNetworks, candidates, response);
                      });
                    });
}

// ---------------------------------------------------------------------------------------------
// Applying a plan: the kind's candidates listed again with no filters (what the daemon would
// prune now, within what the caller may reach); of the plan's objects, those among them are
// removed one at a time, each by its own DELETE (never forced), and every other one is reported
// skipped with why. Between the listing and a DELETE an object can come into use: the daemon
// then refuses the DELETE, and that refusal is the reason reported.

// Where a plan's object that is no longer a candidate is: present (and why it stays) or gone.
struct Present {
  std::string id;
  std::string name;
  v1::PruneSkipReason reason;
};
using PresenceNext = std::function<void(std::vector<Present>)>;

// What one object's removal came to: ok, or the daemon's refusal; `reply` holds an image
// removal's Untagged/Deleted items.
using RemoveDone = std::function<void(engine::Status, json reply)>;

// One kind's part in applying a plan.
struct ApplyKind {
  PruneKind kind;
  std::function<void(const PruneChain&, CandidatesNext)> candidates;  // no filters
  std::function<void(const PruneChain&, PresenceNext)> presence;      // everything listed
  std::function<void(const PruneChain&, const Candidate&, RemoveDone)> remove;
  v1::PruneSkipReason refused;  // the reason when the daemon refuses a DELETE as in use
};

struct Applied {
  std::vector<std::pair<Candidate, json>> removed;  // each with its removal's reply
  std::vector<v1::PruneSkipped> skipped;
};

void Skip(Applied* applied, const std::string& id, v1::PruneSkipReason reason,
          const std::string& detail = "") {
  v1::PruneSkipped& skipped = applied->skipped.emplace_back();
  skipped.set_id(id);
  skipped.set_reason(reason);
  skipped.set_detail(StatusMessage(detail));
}

using ApplyFill = std::function<void(const Applied&)>;

void RemoveFrom(const PruneChain& chain, std::shared_ptr<const ApplyKind> kind,
                std::shared_ptr<const Candidates> todo, size_t index,
                std::shared_ptr<Applied> applied, ApplyFill fill) {
  if (index == todo->size()) {
    return chain.handle.Finish(grpc::Status::OK, [&] { fill(*applied); });
  }
  kind->remove(chain, (*todo)[index],
               [chain, kind, todo, index, applied, fill](engine::Status st, json reply) {
                 const Candidate& c = (*todo)[index];
                 if (st.ok()) {
                   applied->removed.emplace_back(c, std::move(reply));
                 } else if (st.code() == engine::Code::kNotFound) {
                   Skip(applied.get(), c.id, v1::PRUNE_SKIP_REASON_GONE, st.message());
                 } else if (st.code() == engine::Code::kConflict || st.http_status() == 403) {
                   Skip(applied.get(), c.id, kind->refused, st.message());
                 } else if (st.code() == engine::Code::kCancelled) {
                   return chain.handle.Fail(st);
                 } else {
                   return chain.handle.Finish(grpc::Status(
                       ToGrpcCode(st.code()),
                       fmt::format("removing {} {} failed after {} were removed: {}",
                                   PruneKindName(kind->kind), c.id, applied->removed.size(),
                                   StatusMessage(st.message()))));
                 }
                 RemoveFrom(chain, kind, todo, index + 1, applied, fill);
               });
}

void ApplyPlan(const PruneChain& chain, std::shared_ptr<const ApplyKind> kind,
               std::vector<std::string> ids, ApplyFill fill) {
  kind->candidates(chain, [chain, kind, ids = std::move(ids), fill](Candidates candidates) {
    auto todo = std::make_shared<Candidates>();
    auto missing = std::make_shared<std::vector<std::string>>();
    std::set<std::string> taken;
    for (const std::string& want : ids) {
      bool found = false;
      for (const Candidate& c : candidates) {
        if (Names(want, c.id, c.name)) {
          found = true;
          if (taken.insert(c.id).second) {
            todo->push_back(c);
          }
          break;
        }
      }
      if (!found) {
        missing->push_back(want);
      }
    }
    auto applied = std::make_shared<Applied>();
    if (missing->empty()) {
      return RemoveFrom(chain, kind, todo, 0, applied, fill);
    }
    kind->presence(chain, [chain, kind, todo, missing, applied, fill](std::vector<Present> all) {
      for (const std::string& want : *missing) {
        v1::PruneSkipReason reason = v1::PRUNE_SKIP_REASON_GONE;
        for (const Present& p : all) {
          if (Names(want, p.id, p.name)) {
            reason = p.reason;
            break;
          }
        }
        Skip(applied.get(), want, reason);
      }
      RemoveFrom(chain, kind, todo, 0, applied, fill);
    });
  });
}

std::shared_ptr<const ApplyKind> ContainerApply() {
  auto kind = std::make_shared<ApplyKind>();
  kind->kind = PruneKind::kContainers;
  kind->refused = v1::PRUNE_SKIP_REASON_RUNNING;
  kind->candidates = [](const PruneChain& chain, CandidatesNext next) {
    ContainerCandidates(chain, {}, json::object(), std::move(next));
  };
  kind->presence = [](const PruneChain& chain, PresenceNext next) {
    engine::ListContainersQuery query;
    query.all = true;
    chain.Track(chain.api.ListContainers(query, chain.Then([next](json list) {
      std::vector<Present> out;
      for (const json& c : AsArray(list)) {
        for (const json& name : ArrayMember(c, "Names")) {
          std::string n = name.is_string() ? name.get<std::string>() : "";
          out.push_back(Present{GetString(c, "Id"), n.empty() || n[0] != '/' ? n : n.substr(1),
                                v1::PRUNE_SKIP_REASON_RUNNING});
        }
      }
      next(std::move(out));
    })));
  };
  kind->remove = [](const PruneChain& chain, const Candidate& c, RemoveDone done) {
    chain.Track(chain.api.RemoveContainer(c.id, false, false,
                                          [done](const engine::Status& st) { done(st, json()); }));
  };
  return kind;
}

// An image goes as docker's unused-image prune takes it: each reference untagged, then the
// image itself (gone already when its last reference was its last name).
void RemoveImageRefs(const PruneChain& chain, std::shared_ptr<const Candidate> image, size_t index,
                     std::shared_ptr<json> items, RemoveDone done) {
  bool last = index == image->refs.size();
  const std::string& target = last ? image->id : image->refs[index];
  chain.Track(chain.api.RemoveImage(
      target, false, false, [chain, image, index, items, done, last](engine::Result<json> res) {
        if (res.ok()) {
          for (const json& item : AsArray(res.value())) {
            items->push_back(item);
          }
        } else if (!(res.status().code() == engine::Code::kNotFound && !items->empty())) {
          return done(res.status(), *items);
        }
        if (last) {
          return done(engine::Status::Ok(), *items);
        }
        RemoveImageRefs(chain, image, index + 1, items, done);
      }));
}

std::shared_ptr<const ApplyKind> ImageApply() {
  auto kind = std::make_shared<ApplyKind>();
  kind->kind = PruneKind::kImages;
  kind->refused = v1::PRUNE_SKIP_REASON_IN_USE;
  kind->candidates = [](const PruneChain& chain, CandidatesNext next) {
    ImageCandidates(chain, {}, json::object(), false, std::move(next));
  };
  kind->presence = [](const PruneChain& chain, PresenceNext next) {
    engine::ListImagesQuery list;
    list.owner_scoped = true;
    chain.Track(chain.api.ListImages(list, chain.Then([next](json images) {
      std::vector<Present> out;
      for (const json& img : AsArray(images)) {
        out.push_back(Present{GetString(img, "Id"), "", v1::PRUNE_SKIP_REASON_IN_USE});
        for (const json& ref : ArrayMember(img, "RepoTags")) {
          if (ref.is_string()) {
            out.push_back(Present{GetString(img, "Id"), ref.get<std::string>(),
                                  v1::PRUNE_SKIP_REASON_IN_USE});
          }
        }
      }
      next(std::move(out));
    })));
  };
  kind->remove = [](const PruneChain& chain, const Candidate& c, RemoveDone done) {
    RemoveImageRefs(chain, std::make_shared<const Candidate>(c), 0,
                    std::make_shared<json>(json::array()), std::move(done));
  };
  return kind;
}

std::shared_ptr<const ApplyKind> VolumeApply(std::string api_version) {
  auto kind = std::make_shared<ApplyKind>();
  kind->kind = PruneKind::kVolumes;
  kind->refused = v1::PRUNE_SKIP_REASON_IN_USE;
  kind->candidates = [api_version](const PruneChain& chain, CandidatesNext next) {
    VolumeCandidates(chain, {}, json::object(), true, api_version, std::move(next));
  };
  kind->presence = [](const PruneChain& chain, PresenceNext next) {
    chain.Track(chain.api.ListVolumes(json::object(), chain.Then([next](json list) {
      std::vector<Present> out;
      for (const json& v : ArrayMember(list, "Volumes")) {
        std::string name = GetString(v, "Name");
        out.push_back(Present{name, name, v1::PRUNE_SKIP_REASON_IN_USE});
      }
      next(std::move(out));
    })));
  };
  kind->remove = [](const PruneChain& chain, const Candidate& c, RemoveDone done) {
    chain.Track(
        chain.api.RemoveVolume(c.id, [done](const engine::Status& st) { done(st, json()); }));
  };
  return kind;
}

std::shared_ptr<const ApplyKind> NetworkApply() {
  auto kind = std::make_shared<ApplyKind>();
  kind->kind = PruneKind::kNetworks;
  kind->refused = v1::PRUNE_SKIP_REASON_IN_USE;
  kind->candidates = [](const PruneChain& chain, CandidatesNext next) {
    NetworkCandidates(chain, {}, json::object(), std::move(next));
  };
  kind->presence = [](const PruneChain& chain, PresenceNext next) {
    chain.Track(chain.api.ListNetworks(json::object(), chain.Then([next](json list) {
      std::vector<Present> out;
      for (const json& n : AsArray(list)) {
        out.push_back(Present{GetString(n, "Id"), GetString(n, "Name"),
                              PrunableNetwork(n) ? v1::PRUNE_SKIP_REASON_IN_USE
                                                 : v1::PRUNE_SKIP_REASON_NOT_PRUNABLE});
      }
      next(std::move(out));
    })));
  };
  kind->remove = [](const PruneChain& chain, const Candidate& c, RemoveDone done) {
    chain.Track(
        chain.api.RemoveNetwork(c.id, [done](const engine::Status& st) { done(st, json()); }));
  };
  return kind;
}

// What an applied plan (or 1.41's one-by-one volume prune) removed, as the responses say it.
void FillRemoved(const Applied& applied, v1::PruneContainersResponse* response) {
  for (const auto& [c, reply] : applied.removed) {
    response->add_containers_deleted(c.id);
    response->set_space_reclaimed(response->space_reclaimed() + c.size);
  }
}

void FillRemoved(const Applied& applied, v1::PruneImagesResponse* response) {
  for (const auto& [c, reply] : applied.removed) {
    ImagesDeletedFromJson(reply, response->mutable_images_deleted());
    response->set_space_reclaimed(response->space_reclaimed() + c.size);
  }
}

void FillRemoved(const Applied& applied, v1::PruneVolumesResponse* response) {
  for (const auto& [c, reply] : applied.removed) {
    response->add_volumes_deleted(c.id);
    response->set_space_reclaimed(response->space_reclaimed() + c.size);
  }
}

void FillRemoved(const Applied& applied, v1::PruneNetworksResponse* response) {
  for (const auto& [c, reply] : applied.removed) {
    response->add_networks_deleted(c.name);
  }
}

template <typename Response>
void FillApplied(const Applied& applied, Response* response) {
  FillRemoved(applied, response);
  for (const v1::PruneSkipped& skipped : applied.skipped) {
    *response->add_skipped() = skipped;
  }
}

// A request with `apply`: nothing else may choose what goes. INVALID_ARGUMENT names the field
// set beside it, else `ids` gets the plan's.
template <typename Request>
grpc::Status CheckApply(PruneKind kind, const Request& request, std::vector<std::string>* ids) {
  if (request.dry_run()) {
    return InvalidField("dry_run", "not with apply: a plan is made by a dry run, then applied");
  }
  if (request.filters().ByteSizeLong() != 0) {
    return InvalidField("filters",
                        "not with apply: the plan's objects were chosen by its dry "
                        "run's filters");
  }
  if constexpr (requires { request.all(); }) {
    if (request.all()) {
      return InvalidField("all", "not with apply: the plan names its volumes");
    }
  }
  if constexpr (requires { request.has_dangling(); }) {
    if (request.has_dangling()) {
      return InvalidField("dangling", "not with apply: the plan names its images");
    }
  }
  return PruneApplyIds(kind, request.apply(), ids);
}

// A prune request's three forms: apply (the plan's objects), dry run, or the daemon's prune.
template <typename Request, typename Response, typename Plain>
grpc::ServerUnaryReactor* PruneForms(const RpcEnv& env, PruneKind kind, const Request* request,
                                     Response* response,
                                     std::function<std::shared_ptr<const ApplyKind>()> apply_kind,
                                     Plain plain) {
  if (!request->has_apply()) {
    return StartPrune(env, kind, request->filters(), std::move(plain));
  }
  std::vector<std::string> ids;
  if (grpc::Status st = CheckApply(kind, *request, &ids); !st.ok()) {
    return Reject(std::move(st));
  }
  grpc::ServerUnaryReactor* reactor = nullptr;
  UnaryHandle handle = UnaryCall::Start(&reactor);
  PruneChain chain{env.api, std::move(handle)};
  auto start = [chain, apply_kind, ids = std::move(ids), response]() mutable {
    ApplyPlan(chain, apply_kind(), std::move(ids),
              [response](const Applied& applied) { FillApplied(applied, response); });
  };
  if (kind != PruneKind::kVolumes || !chain.api.ApiVersion().empty()) {
    start();
  } else {
    // Which volumes are anonymous depends on the negotiated version; any versioned call
    // negotiates it.
    chain.Track(chain.api.Version(chain.Then([start](json) mutable { start(); })));
  }
  return reactor;
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
                   [chain, dry_run, api_version, response](Candidates volumes) {
                     if (dry_run) {
                       return DryRunVolumes(chain, std::move(volumes), response);
                     }
                     // API 1.41 with all=false: its /volumes/prune would take named volumes
                     // too, so the anonymous ones are deleted one by one. One that went away or
                     // came into use meanwhile is left, as the daemon's own prune leaves what it
                     // cannot remove, and (like it) not reported.
                     RemoveFrom(chain, VolumeApply(api_version),
                                std::make_shared<const Candidates>(std::move(volumes)), 0,
                                std::make_shared<Applied>(), [response](const Applied& applied) {
                                  FillRemoved(applied, response);
                                });
                   });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

grpc::ServerUnaryReactor* rpc::PruneContainers(const RpcEnv& env, grpc::CallbackServerContext*,
                                               const v1::PruneContainersRequest* request,
                                               v1::PruneContainersResponse* response) {
  return PruneForms(env, PruneKind::kContainers, request, response, &ContainerApply,
                    [request, response](const PruneChain& chain, const json& filters) {
                      if (request->dry_run()) {
                        return DryRunContainers(chain, request->filters(), filters, response);
                      }
                      RunPrune(chain, PruneTarget::kContainers, filters, &ContainersPruneFromJson,
                               response);
                    });
}

grpc::ServerUnaryReactor* rpc::PruneImages(const RpcEnv& env, grpc::CallbackServerContext*,
                                           const v1::PruneImagesRequest* request,
                                           v1::PruneImagesResponse* response) {
  bool dangling = !request->has_dangling() || request->dangling();
  return PruneForms(
      env, PruneKind::kImages, request, response, &ImageApply,
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
  return PruneForms(
      env, PruneKind::kVolumes, request, response,
      [api = env.api] { return VolumeApply(api.ApiVersion()); },
      [request, response, all, dry_run](const PruneChain& chain, json filters) {
        if (!chain.api.ApiVersion().empty()) {
          return PruneVolumesAt(chain, request->filters(), std::move(filters), all, dry_run,
                                response);
        }
        // What to send depends on the negotiated version; any versioned call negotiates it.
        chain.Track(chain.api.Version(
            chain.Then([chain, f = request->filters(), filters, all, dry_run, response](json) {
              PruneVolumesAt(chain, f, filters, all, dry_run, response);
            })));
      });
}

grpc::ServerUnaryReactor* rpc::PruneNetworks(const RpcEnv& env, grpc::CallbackServerContext*,
                                             const v1::PruneNetworksRequest* request,
                                             v1::PruneNetworksResponse* response) {
  return PruneForms(env, PruneKind::kNetworks, request, response, &NetworkApply,
                    [request, response](const PruneChain& chain, const json& filters) {
                      if (request->dry_run()) {
                        return DryRunNetworks(chain, request->filters(), filters, response);
                      }
                      RunPrune(chain, PruneTarget::kNetworks, filters, &NetworksPruneFromJson,
                               response);
                    });
}

}  // namespace dockline::server
