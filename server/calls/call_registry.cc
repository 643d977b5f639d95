#include "server/calls/call_registry.h"

#include <absl/status/status.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace dockline::server::calls {

namespace {

using grpc::experimental::InterceptionHookPoints;

// One per call: see CallRegistry and CallObserver.
class CallEnd : public grpc::experimental::Interceptor {
 public:
  CallEnd(grpc::experimental::ServerRpcInfo* info, CallRegistry* registry, CallObserver* observer)
      : ctx_(info->server_context()), registry_(registry), observer_(observer) {
    if (observer_ != nullptr) {
      streaming_ = info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY;
      method_ = observer_->Started(info->method(), streaming_);
      start_ = std::chrono::steady_clock::now();
    }
  }

  ~CallEnd() override {
    Pick();
    if (record_) {
      registry_->End(*record_, sent_ ? status_ : grpc::Status::CANCELLED);
    }
    Observe(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      Pick();
      if (record_ && record_->learn) {
        if (const void* message = methods->GetSendMessage(); message != nullptr) {
          record_->Update([&](CallRecord& r) { r.learn(r, message); });
        }
      }
      // After `learn`: serializing here (the send would anyway, once) drops the typed message.
      if (method_ != nullptr) {
        if (grpc::ByteBuffer* bytes = methods->GetSerializedSendMessage(); bytes != nullptr) {
          observer_->Sent(method_, bytes->Length());
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Pick();
      status_ = methods->GetSendStatus();
      sent_ = true;
      // Now rather than at destruction, which may come later: a client that has its status
      // can already scrape its call.
      Observe(status_.error_code());
    }
    methods->Proceed();
  }

 private:
  // The guard runs inside the handler, before the call can send anything: by the first send
  // its record (if any) is there. Looked up once, so a long stream costs one lookup.
  void Pick() {
    if (!picked_ && registry_ != nullptr) {
      picked_ = true;
      record_ = registry_->Take(ctx_);
    }
  }

  void Observe(grpc::StatusCode code) {
    if (method_ != nullptr && !observed_) {
      observed_ = true;
      observer_->Ended(method_, streaming_, code, std::chrono::steady_clock::now() - start_);
    }
  }

  const grpc::ServerContextBase* ctx_;
  CallRegistry* registry_;
  bool picked_ = false;
  std::shared_ptr<CallRecord> record_;
  bool sent_ = false;
  grpc::Status status_;
  CallObserver* observer_;
  CallObserver::Method* method_ = nullptr;
  bool streaming_ = false;
  bool observed_ = false;
  std::chrono::steady_clock::time_point start_;
};

class CallEndFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallEndFactory(CallRegistry* registry, CallObserver* observer)
      : registry_(registry), observer_(observer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallEnd(info, registry_, observer_);
  }

 private:
  CallRegistry* registry_;
  CallObserver* observer_;
};

std::string Now() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  return google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros));
}

}  // namespace

StreamSlot::~StreamSlot() { limiter_->Release(identity_); }

grpc::Status StreamLimiter::Acquire(const std::string& identity,
                                    std::unique_ptr<StreamSlot>* slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (limits_.total > 0 && total_ >= limits_.total) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many streams: " + std::to_string(total_) +
                              " are open and the limit is " + std::to_string(limits_.total) +
                              " (--max-streams)");
    }
    size_t& mine = per_identity_[identity];
    if (limits_.per_identity > 0 && mine >= limits_.per_identity) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many streams for identity \"" + identity +
                              "\": " + std::to_string(mine) + " are open and the limit is " +
                              std::to_string(limits_.per_identity) +
                              " (--max-streams-per-identity)");
    }
    ++mine;
    ++total_;
  }
  *slot = std::make_unique<StreamSlot>(shared_from_this(), identity);
  return grpc::Status::OK;
}

void StreamLimiter::Release(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  --total_;
  if (auto it = per_identity_.find(identity); it != per_identity_.end() && --it->second == 0) {
    per_identity_.erase(it);
  }
}

size_t StreamLimiter::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

void CallRecord::Update(const std::function<void(CallRecord&)>& change) {
  std::lock_guard<std::mutex> lock(mu);
  change(*this);
}

CallRegistry::CallRegistry(std::shared_ptr<AuditLog> audit, StreamLimits limits)
    : audit_(std::move(audit)),
      limits_(limits),
      limiter_(std::make_shared<StreamLimiter>(limits)) {}

grpc::Status CallRegistry::AcquireStream(const std::string& identity,
                                         std::unique_ptr<StreamSlot>* slot) {
  if (!limiting()) {
    return grpc::Status::OK;
  }
  return limiter_->Acquire(identity, slot);
}

void CallRegistry::Begin(const grpc::ServerContextBase* ctx, std::shared_ptr<CallRecord> record) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_[ctx] = std::move(record);
}

std::shared_ptr<CallRecord> CallRegistry::Take(const grpc::ServerContextBase* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) {
    return nullptr;
  }
  auto record = std::move(it->second);
  calls_.erase(it);
  return record;
}

void CallRegistry::End(CallRecord& record, const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(record.mu);
  if (audit_ && (record.audited || record.decision == "deny")) {
    audit_->Write(AuditLine(record, status));
  }
  record.slot.reset();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeCallInterceptorFactory(
    CallRegistry* registry, CallObserver* observer) {
  return std::make_unique<CallEndFactory>(registry, observer);
}

engine::Status CallRegistry::ReopenAudit() {
  return audit_ ? audit_->Reopen() : engine::Status::Ok();
}

std::string AuditLine(const CallRecord& record, const grpc::Status& status) {
  nlohmann::json line = {
      {"time", Now()},
      {"identity", record.identity},
      {"peer", record.peer},
      {"rpc", record.rpc},
  };
  if (!record.source.empty()) {
    line["source"] = record.source;
  }
  for (const auto& [key, value] :
       {std::pair{"container", &record.container}, std::pair{"image", &record.image},
        std::pair{"exec_id", &record.exec_id}}) {
    if (!value->empty()) {
      line[key] = *value;
    }
  }
  line["decision"] = record.decision;
  if (!record.rule.empty()) {
    line["rule"] = record.rule;
  }
  line["code"] = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  if (!status.ok()) {
    line["message"] = status.error_message();
  }
  // Identities, names and messages come from callers: never let one break the line.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dockline::server::calls
