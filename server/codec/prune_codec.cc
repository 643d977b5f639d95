#include "server/codec/prune_codec.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "server/codec/base64url.h"
#include "server/codec/field_error.h"
#include "server/codec/json_util.h"

namespace dockline::server {
namespace {

using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

constexpr char kAnonymousVolumeLabel[] = "com.docker.volume.anonymous";
constexpr std::string_view kPlanTokenPrefix = "dlplan1.";
// Longer than any id, name or image reference. The ids are only ever compared with what the
// daemon lists (never put in a path), and a token's are checked as an explicit list's are.
constexpr size_t kMaxPruneIdLength = 256;

}  // namespace

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
  if (kind == PruneKind::kVolumes && filters.until_case() != v1::PruneFilters::UNTIL_NOT_SET) {
    return InvalidField(filters.has_until_time() ? "filters.until_time" : "filters.older_than",
                        "volume prune has no time filter (the daemon refuses until)");
  }
  switch (filters.until_case()) {
    case v1::PruneFilters::kUntilTime: {
      const auto& t = filters.until_time();
      if (t.seconds() < 0 || t.nanos() < 0 || t.nanos() > 999999999) {
        return InvalidField("filters.until_time", "must be a valid time after 1970");
      }
      char buf[48];
      std::snprintf(buf, sizeof(buf), "%lld.%09d", static_cast<long long>(t.seconds()), t.nanos());
      (*out)["until"] = {std::string(buf)};
      break;
    }
    case v1::PruneFilters::kOlderThan: {
      const auto& d = filters.older_than();
      if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999) {
        return InvalidField("filters.older_than", "must not be negative");
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
        return InvalidField(path, "must be \"key\" or \"key=value\", got \"" + label + "\"");
      }
      for (char c : label) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          return InvalidField(path, "must not contain control characters");
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

std::string_view PruneKindName(PruneKind kind) {
  switch (kind) {
    case PruneKind::kContainers:
      return "containers";
    case PruneKind::kImages:
      return "images";
    case PruneKind::kVolumes:
      return "volumes";
    case PruneKind::kNetworks:
      return "networks";
  }
  return "";
}

std::string EncodePrunePlanToken(PruneKind kind, const std::vector<std::string>& ids) {
  json doc = {{"kind", PruneKindName(kind)}, {"ids", ids}};
  return std::string(kPlanTokenPrefix) + Base64UrlEncode(doc.dump());
}

grpc::Status PruneApplyIds(PruneKind kind, const v1::PruneApply& apply,
                           std::vector<std::string>* ids) {
  ids->clear();
  std::string field = "apply.ids";
  switch (apply.what_case()) {
    case v1::PruneApply::WHAT_NOT_SET:
      return InvalidField("apply", "set plan (a dry run's plan.token) or ids");
    case v1::PruneApply::kIds:
      ids->assign(apply.ids().ids().begin(), apply.ids().ids().end());
      break;
    case v1::PruneApply::kPlan: {
      field = "apply.plan";
      std::string_view token = apply.plan();
      if (token.substr(0, kPlanTokenPrefix.size()) != kPlanTokenPrefix) {
        return InvalidField(field,
                            "not a prune plan token (one starts \"dlplan1.\"; a dry run's "
                            "plan.token is one)");
      }
      std::optional<std::string> text = Base64UrlDecode(token.substr(kPlanTokenPrefix.size()));
      json doc = text ? json::parse(*text, nullptr, false) : json();
      const json* list = Member(doc, "ids");
      if (!doc.is_object() || list == nullptr || !list->is_array()) {
        return InvalidField(field, "a damaged prune plan token (it does not decode)");
      }
      if (std::string kind_name = GetString(doc, "kind"); kind_name != PruneKindName(kind)) {
        return InvalidField(
            field, "a plan for " + kind_name + ", not for " + std::string(PruneKindName(kind)));
      }
      for (const json& id : *list) {
        if (!id.is_string()) {
          return InvalidField(field, "a damaged prune plan token (an id is not a string)");
        }
        ids->push_back(id.get<std::string>());
      }
      break;
    }
  }
  if (ids->empty() && apply.what_case() == v1::PruneApply::kIds) {
    return InvalidField(field, "empty: name at least one object");
  }
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string& id = (*ids)[i];
    if (id.empty() || id.size() > kMaxPruneIdLength || id.find('\0') != std::string::npos) {
      return InvalidField(
          field + (field == "apply.ids" ? "[" + std::to_string(i) + "]" : ""),
          "not an id or name: " + json(id).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  return grpc::Status::OK;
}

void ImagesDeletedFromJson(const json& items,
                           google::protobuf::RepeatedPtrField<v1::ImageDeleted>* out) {
  if (!items.is_array()) {
    return;
  }
  for (const json& item : items) {
    if (!item.is_object()) {
      continue;
    }
    v1::ImageDeleted* deleted = out->Add();
    deleted->set_untagged(GetString(item, "Untagged"));
    deleted->set_deleted(GetString(item, "Deleted"));
  }
}

void ImagesPruneFromJson(const json& reply, v1::PruneImagesResponse* out) {
  ImagesDeletedFromJson(ArrayMember(reply, "ImagesDeleted"), out->mutable_images_deleted());
  out->set_space_reclaimed(GetSize(reply, "SpaceReclaimed"));
}

void VolumesPruneFromJson(const json& reply, v1::PruneVolumesResponse* out) {
  AddStrings(ArrayMember(reply, "VolumesDeleted"), out->mutable_volumes_deleted());
  out->set_space_reclaimed(GetSize(reply, "SpaceReclaimed"));
}

void NetworksPruneFromJson(const json& reply, v1::PruneNetworksResponse* out) {
  AddStrings(ArrayMember(reply, "NetworksDeleted"), out->mutable_networks_deleted());
}

const json& ArrayMember(const json& j, std::string_view key) {
  static const json kEmpty = json::array();
  const json* m = Member(j, key);
  return m != nullptr && m->is_array() ? *m : kEmpty;
}

const json& AsArray(const json& j) {
  static const json kEmpty = json::array();
  return j.is_array() ? j : kEmpty;
}

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

json ListFilters(const json& daemon_filters) {
  json out = json::object();
  if (const json* label = Member(daemon_filters, "label")) {
    out["label"] = *label;
  }
  return out;
}

bool TooNew(std::optional<int64_t> until, int64_t created_nanos) {
  return until && created_nanos >= 0 && created_nanos > *until;
}

}  // namespace dockline::server
