#pragma once

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "server/auth/limits.h"
#include "server/calls/call_registry.h"
#include "server/policy/rules.h"

namespace dockline::server {

// What the guard does for the other RPCs, for a config that comes as a bidi stream's first
// message (AttachExec, AttachContainer), which the guard never sees: the request size, the
// policy's field rules (`check`; null without a policy) and the audit record's target.
// `audited` marks a call the record must log even though its group is not audited.
inline grpc::Status AdmitFirstMessage(const google::protobuf::MessageLite& first,
                                      size_t max_request_bytes,
                                      const std::function<policy::Decision()>& check,
                                      const std::shared_ptr<calls::CallRecord>& record,
                                      const std::string& container, bool audited = false) {
  grpc::Status status;
  if (max_request_bytes > 0) {
    status = auth::CheckRequestSize(first, max_request_bytes);
  }
  policy::Decision decision;
  if (status.ok() && check) {
    decision = check();
    status = decision.status;
  }
  if (record) {
    record->Update([&](calls::CallRecord& r) {
      r.container = container;
      r.audited = r.audited || audited;
      if (!decision.rule.empty()) {
        r.rule = decision.rule;
      }
      if (!status.ok()) {
        r.decision = "deny";
        r.rule = decision.rule.empty() ? "max-request-size" : decision.rule;
      }
    });
  }
  return status;
}

}  // namespace dockline::server
