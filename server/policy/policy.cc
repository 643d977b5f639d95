#include "server/policy/policy.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace dockline::server::policy {

namespace {

using engine::Code;
using engine::Status;
using Json = nlohmann::json;

Status Bad(const std::string& message) { return Status(Code::kBadRequest, message); }

// YAML scalars stay strings here (so that an image glob `yes` is not a boolean); the fields
// that are booleans accept "true"/"false" as well as JSON's true/false.
Json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) {
        out.push_back(YamlToJson(item));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) {
        out[kv.first.Scalar()] = YamlToJson(kv.second);
      }
      return out;
    }
    default:
      return nullptr;
  }
}

Status StringList(const Json& value, const std::string& where, std::vector<std::string>* out) {
  if (!value.is_array()) {
    return Bad(where + ": must be a list of strings");
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string() || value[i].get_ref<const std::string&>().empty()) {
      return Bad(where + "[" + std::to_string(i) + "]: must be a non-empty string");
    }
    out->push_back(value[i].get<std::string>());
  }
  return Status::Ok();
}

Status Boolean(const Json& value, const std::string& where, bool* out) {
  if (value.is_boolean()) {
    *out = value.get<bool>();
    return Status::Ok();
  }
  if (value.is_string() && (value == "true" || value == "false")) {
    *out = value == "true";
    return Status::Ok();
  }
  return Bad(where + ": must be true or false");
}

Status Rules(const std::string& name, const Json& entry, IdentityRules* rules) {
  const std::string at = "identities." + name;
  if (!entry.is_object()) {
    return Bad(at + ": must be a mapping");
  }
  rules->entry = name;
  for (const auto& [key, value] : entry.items()) {
    const std::string where = at + "." + key;
    std::vector<std::string> list;
    Status st;
    if (key == "allow") {
      if (st = StringList(value, where, &list); !st.ok()) {
        return st;
      }
      for (const auto& item : list) {
        auto group = RpcGroups().find(item);
        if (group != RpcGroups().end()) {
          rules->rpcs.insert(group->second.begin(), group->second.end());
        } else if (!GroupOf(item).empty()) {
          rules->rpcs.insert(item);
        } else {
          return Bad(where + ": \"" + item +
                     "\" is neither a group (read, operate, exec, prune) nor a Dockline RPC");
        }
      }
    } else if (key == "images" || key == "network_modes" || key == "exec_commands" ||
               key == "exec_users") {
      if (st = StringList(value, where, &list); !st.ok()) {
        return st;
      }
      auto& field = key == "images"          ? rules->images
                    : key == "network_modes" ? rules->network_modes
                    : key == "exec_commands" ? rules->exec_commands
                                             : rules->exec_users;
      field = std::move(list);
    } else if (key == "bind_roots") {
      if (st = StringList(value, where, &list); !st.ok()) {
        return st;
      }
      for (const auto& root : list) {
        std::filesystem::path path(root);
        if (!path.is_absolute()) {
          return Bad(where + ": \"" + root + "\" is not an absolute path");
        }
        std::string normal = path.lexically_normal().string();
        if (normal.size() > 1 && normal.back() == '/') {
          normal.pop_back();
        }
        rules->bind_roots.push_back(normal);
      }
    } else if (key == "volume_drivers") {
      if (st = StringList(value, where, &rules->volume_drivers); !st.ok()) {
        return st;
      }
    } else if (key == "exec_privileged") {
      if (st = Boolean(value, where, &rules->exec_privileged); !st.ok()) {
        return st;
      }
    } else if (key == "owned") {
      if (st = Boolean(value, where, &rules->owned); !st.ok()) {
        return st;
      }
    } else {
      return Bad(where +
                 ": unknown rule (allow, images, bind_roots, network_modes, "
                 "volume_drivers, exec_commands, exec_users, exec_privileged, owned)");
    }
  }
  return Status::Ok();
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& RpcGroups() {
  static const auto* groups = new std::map<std::string, std::vector<std::string>>{
      {"read",
       {"InspectContainer", "ListContainers", "WaitContainer", "StreamLogs", "GetHealth",
        "WaitHealthy", "WatchHealth", "GetEngineInfo", "InspectExec", "ListImages", "InspectImage",
        "GetStats", "StreamStats", "CopyFromContainer", "WatchEvents", "AttachContainer"}},
      {"operate",
       {"CreateContainer", "StartContainer", "StopContainer", "RestartContainer", "KillContainer",
        "RemoveContainer", "RunContainer", "CopyToContainer"}},
      {"exec", {"ExecContainer", "StreamExec", "StartExec", "AttachExec"}},
      {"images", {"PullImage", "RemoveImage"}},
      {"prune", {"PruneContainers", "PruneImages", "PruneVolumes", "PruneNetworks"}},
  };
  return *groups;
}

std::string GroupOf(std::string_view rpc) {
  for (const auto& [group, rpcs] : RpcGroups()) {
    for (const auto& name : rpcs) {
      if (name == rpc) {
        return group;
      }
    }
  }
  return {};
}

std::shared_ptr<const Policy> Policy::AllowAll() { return std::make_shared<const Policy>(); }

engine::Result<std::shared_ptr<const Policy>> Policy::FromJson(const Json& doc) {
  if (!doc.is_object()) {
    return Bad("the policy must be a mapping with an `identities` key");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "identities") {
      return Bad(key + ": unknown key (the policy has only `identities`)");
    }
  }
  auto identities = doc.find("identities");
  if (identities == doc.end() || !identities->is_object() || identities->empty()) {
    return Bad("identities: must map at least one identity (or \"*\") to its rules");
  }
  auto policy = std::make_shared<Policy>();
  policy->enforcing_ = true;
  for (const auto& [name, entry] : identities->items()) {
    if (name.empty()) {
      return Bad("identities: an identity name is empty");
    }
    auto rules = std::make_shared<IdentityRules>();
    if (Status st = Rules(name, entry, rules.get()); !st.ok()) {
      return st;
    }
    policy->entries_[name] = std::move(rules);
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

engine::Result<std::shared_ptr<const Policy>> Policy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Bad(path + ": cannot be read");
  }
  std::stringstream text;
  text << in.rdbuf();
  Json doc;
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    doc = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return Bad(path + ": not valid JSON");
    }
  } else {
    try {
      doc = YamlToJson(YAML::Load(text.str()));
    } catch (const YAML::Exception& e) {
      return Bad(path + ": not valid YAML: " + e.what());
    }
  }
  auto policy = FromJson(doc);
  if (!policy.ok()) {
    return Bad(path + ": " + policy.status().message());
  }
  return policy;
}

std::shared_ptr<const IdentityRules> Policy::For(const std::string& identity) const {
  if (!enforcing_) {
    return nullptr;
  }
  if (auto it = entries_.find(identity); it != entries_.end()) {
    return it->second;
  }
  if (auto it = entries_.find("*"); it != entries_.end()) {
    return it->second;
  }
  static const auto* nothing =
      new std::shared_ptr<const IdentityRules>(std::make_shared<const IdentityRules>());
  return *nothing;
}

std::string Policy::Describe() const {
  if (!enforcing_) {
    return "no --policy: every authenticated caller may call every RPC";
  }
  std::string out;
  for (const auto& [name, rules] : entries_) {
    out += (out.empty() ? "" : "; ") + name + ": " + std::to_string(rules->rpcs.size()) + " RPCs" +
           (rules->owned ? ", owned containers only" : "");
  }
  return out;
}

std::shared_ptr<PolicyStore> MakePolicyStore(std::shared_ptr<const Policy> policy,
                                             const std::string& path) {
  return std::make_shared<PolicyStore>(std::move(policy), path, &Policy::Load);
}

}  // namespace dockline::server::policy
