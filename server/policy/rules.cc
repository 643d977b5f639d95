#include "server/policy/rules.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "server/codec/image_codec.h"

namespace dockline::server::policy {

namespace {

Decision Deny(const std::string& rule, const std::string& message) {
  return {grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "policy rule " + rule + ": " + message),
          rule};
}

Decision Allow(const std::string& rule) { return {grpc::Status::OK, rule}; }

bool AnyMatch(const std::vector<std::string>& patterns, const std::string& value) {
  for (const auto& pattern : patterns) {
    if (GlobMatch(pattern, value)) {
      return true;
    }
  }
  return false;
}

std::string Quoted(const std::string& value) { return "\"" + value + "\""; }

std::string ListOf(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return "[" + out + "]";
}

Decision HostPath(const IdentityRules& rules, const std::string& source, const std::string& field) {
  std::string why;
  if (UnderRoots(rules.bind_roots, source, &why)) {
    return Allow("bind_roots");
  }
  return Deny("bind_roots", field + " " + Quoted(source) + " " + why);
}

Decision CheckMount(const IdentityRules& rules, const v1::Mount& mount, const std::string& field) {
  if (mount.type() == v1::MOUNT_TYPE_BIND) {
    return HostPath(rules, mount.source(), field + ".source");
  }
  if (mount.type() != v1::MOUNT_TYPE_VOLUME) {
    return Allow("");
  }
  const std::string& driver = mount.volume_driver();
  if (!driver.empty() && driver != "local") {
    bool listed = false;
    for (const auto& allowed : rules.volume_drivers) {
      listed = listed || allowed == driver;
    }
    if (!listed) {
      return Deny("volume_drivers", field + ".volume_driver " + Quoted(driver) +
                                        " is not local and not listed in volume_drivers " +
                                        ListOf(rules.volume_drivers));
    }
    return Allow("volume_drivers");
  }
  // The local driver's type/o/device options mount whatever `device` names (a host directory
  // with o=bind, a block device, an NFS export): that is a host path, judged like a bind.
  const auto& options = mount.volume_driver_options();
  bool host_mount = false;
  for (const char* key : {"type", "o", "device"}) {
    host_mount = host_mount || options.count(key) > 0;
  }
  if (!host_mount) {
    return Allow("");
  }
  auto device = options.find("device");
  if (device == options.end() || device->second.empty() || device->second[0] != '/') {
    return Deny("bind_roots", field +
                                  ".volume_driver_options: type/o without a device that is an "
                                  "absolute host path under bind_roots " +
                                  ListOf(rules.bind_roots));
  }
  return HostPath(rules, device->second, field + ".volume_driver_options.device");
}

}  // namespace

bool GlobMatch(const std::string& pattern, const std::string& value) {
  return fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

bool UnderRoots(const std::vector<std::string>& roots, const std::string& source,
                std::string* why) {
  if (roots.empty()) {
    *why = "is a host path, and this identity may mount none (no bind_roots)";
    return false;
  }
  std::filesystem::path path(source);
  if (!path.is_absolute()) {
    *why = "is not an absolute path";
    return false;
  }
  // Lexically: `/srv/ci/../../etc` is /etc before it is anything else.
  std::filesystem::path normal = path.lexically_normal();
  for (const auto& root : roots) {
    std::filesystem::path root_path(root);
    auto [root_end, normal_it] =
        std::mismatch(root_path.begin(), root_path.end(), normal.begin(), normal.end());
    if (root_end != root_path.end()) {
      continue;
    }
    // Below the root, no component may be a symbolic link: /srv/ci/link -> /etc would
    // otherwise hand out /etc. Components that do not exist yet are created by the daemon as
    // directories, which is fine.
    std::filesystem::path walk = root_path;
    for (auto it = normal_it; it != normal.end(); ++it) {
      if (it->empty()) {
        continue;
      }
      walk /= *it;
      struct stat st;
      if (lstat(walk.c_str(), &st) != 0) {
        break;
      }
      if (S_ISLNK(st.st_mode)) {
        *why = "passes through the symbolic link " + walk.string() + " below bind root " + root;
        return false;
      }
    }
    return true;
  }
  *why = "(" + normal.string() + ") is not under any of bind_roots " + ListOf(roots);
  return false;
}

Decision AllowRpc(const IdentityRules* rules, const std::string& identity, std::string_view rpc) {
  if (rules == nullptr) {
    return Allow("");
  }
  if (rules->rpcs.count(std::string(rpc)) > 0) {
    return Allow("allow");
  }
  if (rules->entry.empty()) {
    return Deny("allow", "identity " + Quoted(identity) +
                             " has no entry in the policy (and there is no \"*\" entry)");
  }
  std::string group = GroupOf(rpc);
  return Deny("allow", "identity " + Quoted(identity) + " (entry " + Quoted(rules->entry) +
                           ") may not call " + std::string(rpc) +
                           (group.empty() ? "" : " (group " + group + ")"));
}

Decision CheckImage(const IdentityRules& rules, const std::string& image,
                    const std::string& field) {
  if (rules.images) {
    // A reference without a tag or digest means :latest to the daemon, so the rule sees it that
    // way too (`alpine` is judged as `alpine:latest`).
    if (!AnyMatch(*rules.images, TaggedReference(image))) {
      return Deny("images",
                  field + " " + Quoted(image) + " matches none of " + ListOf(*rules.images));
    }
  }
  return Allow("");
}

Decision CheckSpec(const IdentityRules& rules, const std::string& identity,
                   const v1::ContainerSpec& spec, const std::string& field) {
  if (Decision d = CheckImage(rules, spec.image(), field + ".image"); !d.ok()) {
    return d;
  }
  for (int i = 0; i < spec.volumes_size(); ++i) {
    const auto& bind = spec.volumes(i);
    // A source that is not a path names a volume, which the daemon keeps under its own root.
    if (!bind.source().empty() && bind.source()[0] == '/') {
      Decision d =
          HostPath(rules, bind.source(), field + ".volumes[" + std::to_string(i) + "].source");
      if (!d.ok()) {
        return d;
      }
    }
  }
  for (int i = 0; i < spec.mounts_size(); ++i) {
    Decision d = CheckMount(rules, spec.mounts(i), field + ".mounts[" + std::to_string(i) + "]");
    if (!d.ok()) {
      return d;
    }
  }
  const std::string& network = spec.network();
  if (!network.empty()) {
    if (rules.network_modes) {
      if (!AnyMatch(*rules.network_modes, network)) {
        return Deny("network_modes", field + ".network " + Quoted(network) + " matches none of " +
                                         ListOf(*rules.network_modes));
      }
    } else if (network == "host" || network.rfind("container:", 0) == 0) {
      return Deny("network_modes", field + ".network " + Quoted(network) +
                                       " shares another namespace; list it in network_modes "
                                       "to allow it");
    }
  }
  if (auto owner = spec.labels().find(kOwnerLabel); owner != spec.labels().end()) {
    if (!rules.owned || owner->second != identity) {
      return Deny("owned",
                  field + ".labels[" + kOwnerLabel + "] is set by dockline, not by callers");
    }
  }
  return Allow("allow");
}

Decision CheckAttach(const IdentityRules& rules, const std::string& identity,
                     const v1::AttachConfig& config, const std::string& field) {
  if (!config.stdin()) {
    return Allow("allow");
  }
  for (const std::string& rpc : RpcGroups().at("operate")) {
    if (rules.rpcs.count(rpc) == 0) {
      return Deny("allow", "identity " + Quoted(identity) + " (entry " + Quoted(rules.entry) +
                               ") may not write to a container's stdin: " + field +
                               ".stdin needs the operate group (" + rpc + " is not allowed)");
    }
  }
  return Allow("allow");
}

Decision CheckExec(const IdentityRules& rules, const v1::ExecConfig& config,
                   const std::string& field) {
  if (rules.exec_commands && config.cmd_size() > 0 &&
      !AnyMatch(*rules.exec_commands, config.cmd(0))) {
    return Deny("exec_commands", field + ".cmd[0] " + Quoted(config.cmd(0)) + " matches none of " +
                                     ListOf(*rules.exec_commands));
  }
  if (config.privileged() && !rules.exec_privileged) {
    return Deny("exec_privileged", field + ".privileged is true and exec_privileged is not set");
  }
  if (rules.exec_users && !AnyMatch(*rules.exec_users, config.user())) {
    return Deny("exec_users", field + ".user " + Quoted(config.user()) +
                                  (config.user().empty() ? " (the container's default user)" : "") +
                                  " matches none of " + ListOf(*rules.exec_users));
  }
  return Allow("allow");
}

}  // namespace dockline::server::policy
