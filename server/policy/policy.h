#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "server/reloadable.h"

namespace dockline::server::policy {

// The label dockline puts on what an `owned` identity creates; the only containers such an
// identity can reach carry it with the identity's name.
inline constexpr char kOwnerLabel[] = "dockline.owner";

// What one identity (or `*`) may do: the RPCs it may call and the rules on their typed fields.
// An absent list means "no rule on that field" except where a safe default is stated.
struct IdentityRules {
  std::string entry;           // the policy key that matched: the identity's name or "*"
  std::set<std::string> rpcs;  // method names, groups expanded
  std::optional<std::vector<std::string>> images;  // globs; absent: any image
  // Absolute, normalised; host paths (bind sources, local volume devices) must lie under one.
  // Empty: no host path at all.
  std::vector<std::string> bind_roots;
  // Globs on ContainerSpec.network. Absent: any except `host` and `container:*`.
  std::optional<std::vector<std::string>> network_modes;
  // Volume drivers besides `local` (and the default) that mounts may name.
  std::vector<std::string> volume_drivers;
  std::optional<std::vector<std::string>> exec_commands;  // globs on argv[0]; absent: any
  std::optional<std::vector<std::string>> exec_users;     // globs on ExecConfig.user
  bool exec_privileged = false;
  // Containers created by this identity get kOwnerLabel=<identity>; every other container is
  // NOT_FOUND to it, listings and prunes included.
  bool owned = false;
};

// A parsed policy file. Immutable once built; shared by every call that started under it.
class Policy {
 public:
  // No --policy: nothing is checked (rules are null for everyone).
  static std::shared_ptr<const Policy> AllowAll();
  // Parses a policy document (already decoded from YAML or JSON). Unknown keys, groups and
  // RPC names are errors, so that a typo cannot silently widen or narrow what is allowed.
  static engine::Result<std::shared_ptr<const Policy>> FromJson(const nlohmann::json& doc);
  // Reads FILE: JSON when it ends in .json, YAML otherwise.
  static engine::Result<std::shared_ptr<const Policy>> Load(const std::string& path);

  bool enforcing() const { return enforcing_; }
  // The rules for `identity`: its own entry, else `*`, else an entry that allows nothing.
  // Null when the policy is not enforcing.
  std::shared_ptr<const IdentityRules> For(const std::string& identity) const;
  // One line for the log: identities and what they may call.
  std::string Describe() const;

 private:
  bool enforcing_ = false;
  std::map<std::string, std::shared_ptr<const IdentityRules>> entries_;
};

// The RPC groups a policy names, and the group of every RPC of dockline.v1.Dockline.
const std::map<std::string, std::vector<std::string>>& RpcGroups();
// The group `rpc` belongs to; empty when it is in none.
std::string GroupOf(std::string_view rpc);

// The policy in force; SIGHUP re-reads its file.
using PolicyStore = Reloadable<Policy>;
std::shared_ptr<PolicyStore> MakePolicyStore(std::shared_ptr<const Policy> policy,
                                             const std::string& path);

}  // namespace dockline::server::policy
