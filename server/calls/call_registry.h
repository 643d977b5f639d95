#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/calls/audit_log.h"

namespace dockline::server::calls {

// --max-streams and --max-streams-per-identity: how many streaming calls may be open at once.
// Zero: no limit.
struct StreamLimits {
  size_t total = 0;
  size_t per_identity = 0;
};

class StreamLimiter;

// One open stream's place under the limits; giving it back is the destructor's job.
class StreamSlot {
 public:
  StreamSlot(std::shared_ptr<StreamLimiter> limiter, std::string identity)
      : limiter_(std::move(limiter)), identity_(std::move(identity)) {}
  ~StreamSlot();
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  std::shared_ptr<StreamLimiter> limiter_;
  std::string identity_;
};

class StreamLimiter : public std::enable_shared_from_this<StreamLimiter> {
 public:
  explicit StreamLimiter(StreamLimits limits) : limits_(limits) {}
  // A slot, or RESOURCE_EXHAUSTED naming the limit that was reached.
  grpc::Status Acquire(const std::string& identity, std::unique_ptr<StreamSlot>* slot);
  size_t open() const;

 private:
  friend class StreamSlot;
  void Release(const std::string& identity);

  const StreamLimits limits_;
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> per_identity_;
};

// What the guard decided about one call, kept until the call ends so that the audit line can
// carry the final status and the stream slot can be given back.
struct CallRecord {
  std::string rpc;
  std::string identity;  // empty when authentication failed
  std::string source;    // how the identity was established
  std::string peer;
  std::string decision = "allow";  // or "deny"
  std::string rule;                // the policy rule that decided, if a policy is in force
  bool audited = false;
  std::unique_ptr<StreamSlot> slot;
  // Targets, for the audit line: known from the request, or learnt from what the call sent.
  std::string container;
  std::string image;
  std::string exec_id;
  // Reads a created container's or exec's id out of a message the call sends (the message is
  // of the RPC's response type); null when the RPC creates nothing.
  std::function<void(CallRecord&, const void* message)> learn;

  // Later decisions of a running call (AttachExec's first message); thread-safe with End.
  void Update(const std::function<void(CallRecord&)>& change);

  std::mutex mu;
};

// Told by the call interceptor about every call, whatever the guard decided (--metrics-listen).
// Called on gRPC threads, concurrently for different calls.
class CallObserver {
 public:
  // The observer's own per-RPC state, defined by the implementation.
  struct Method;

  virtual ~CallObserver() = default;
  // A call starts; `method` is gRPC's "/package.Service/Method". The handle stays valid for the
  // observer's life.
  virtual Method* Started(const char* method, bool streaming) = 0;
  // A message of `bytes` (serialized, before compression and framing) goes to the client.
  virtual void Sent(Method* method, size_t bytes) = 0;
  // Once per call: the status it sent (CANCELLED when it sent none) and how long it ran.
  virtual void Ended(Method* method, bool streaming, grpc::StatusCode code,
                     std::chrono::steady_clock::duration elapsed) = 0;
};

// The calls the guard is tracking, keyed by their server context, and the interceptor that ends
// them: gRPC creates one interceptor per call; it picks the record up once the handler has run
// (the first thing the call sends) and, when the call is destroyed, writes the audit line with
// the status that was sent (CANCELLED when none was) and frees the stream slot.
class CallRegistry {
 public:
  CallRegistry(std::shared_ptr<AuditLog> audit, StreamLimits limits);

  bool auditing() const { return audit_ != nullptr; }
  bool limiting() const { return limits_.total > 0 || limits_.per_identity > 0; }
  grpc::Status AcquireStream(const std::string& identity, std::unique_ptr<StreamSlot>* slot);

  void Begin(const grpc::ServerContextBase* ctx, std::shared_ptr<CallRecord> record);
  std::shared_ptr<CallRecord> Take(const grpc::ServerContextBase* ctx);
  void End(CallRecord& record, const grpc::Status& status);

  // Reopens the audit file (SIGHUP).
  engine::Status ReopenAudit();
  size_t open_streams() const { return limiter_->open(); }

 private:
  std::shared_ptr<AuditLog> audit_;
  StreamLimits limits_;
  std::shared_ptr<StreamLimiter> limiter_;
  std::mutex mu_;
  std::unordered_map<const grpc::ServerContextBase*, std::shared_ptr<CallRecord>> calls_;
};

// The one per-call interceptor, for the registry (null without audit and stream limits) and the
// observer (null without metrics); not installed at all when both are null.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeCallInterceptorFactory(
    CallRegistry* registry, CallObserver* observer);

// One audit line (a JSON object, no newline) for a finished call.
std::string AuditLine(const CallRecord& record, const grpc::Status& status);

}  // namespace dockline::server::calls
