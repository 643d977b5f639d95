#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "dockline/v1/dockline.pb.h"
#include "server/policy/policy.h"

namespace dockline::server::policy {

// A policy decision: ok, or PERMISSION_DENIED naming the rule and the field. `rule` is what the
// audit log records ("allow" for the RPC list, the rule's key otherwise; empty when no policy
// is in force).
struct Decision {
  grpc::Status status;
  std::string rule;
  bool ok() const { return status.ok(); }
};

// Whether `identity`, under `rules` (null: no policy, everything allowed), may call `rpc`.
Decision AllowRpc(const IdentityRules* rules, const std::string& identity, std::string_view rpc);

// The field rules on the requests that carry something a rule judges. `field` is the message's
// path in the request ("spec", "config") for the error messages.
Decision CheckSpec(const IdentityRules& rules, const std::string& identity,
                   const v1::ContainerSpec& spec, const std::string& field);
Decision CheckExec(const IdentityRules& rules, const v1::ExecConfig& config,
                   const std::string& field);
// AttachContainer's config: stdin writes into the container, so it needs the whole operate
// group on top of the read group that lets AttachContainer through.
Decision CheckAttach(const IdentityRules& rules, const std::string& identity,
                     const v1::AttachConfig& config, const std::string& field);
// The `images` patterns, on the image RPCs' `image` as on a spec's.
Decision CheckImage(const IdentityRules& rules, const std::string& image, const std::string& field);

// The whole check on a typed request, before any engine call: the RPC list, then the field
// rules of requests that have any. AttachExec's and AttachContainer's configs arrive in their
// first message, which the RPC checks with CheckExec or CheckAttach itself.
template <typename Request>
Decision Admit(const IdentityRules* rules, const std::string& identity, std::string_view rpc,
               const Request* request) {
  Decision decision = AllowRpc(rules, identity, rpc);
  if (!decision.ok() || rules == nullptr || request == nullptr) {
    return decision;
  }
  if constexpr (requires { request->spec(); }) {
    if (Decision d = CheckSpec(*rules, identity, request->spec(), "spec"); !d.ok()) {
      return d;
    }
  }
  if constexpr (requires { request->config(); }) {
    // A StreamExec reattach (exec_id) has none: its exec was judged when it started.
    if (request->has_config()) {
      if (Decision d = CheckExec(*rules, request->config(), "config"); !d.ok()) {
        return d;
      }
    }
  }
  if constexpr (requires { request->image(); }) {
    if (Decision d = CheckImage(*rules, request->image(), "image"); !d.ok()) {
      return d;
    }
  }
  return decision;
}

// Glob match as fnmatch(3) without flags: `*` also matches `/`.
bool GlobMatch(const std::string& pattern, const std::string& value);

// Whether host path `source` (absolute) lies under one of `roots` once `.` and `..` are
// resolved, without passing through a symbolic link below the root. On false, `why` says why.
bool UnderRoots(const std::vector<std::string>& roots, const std::string& source, std::string* why);

}  // namespace dockline::server::policy
