#pragma once

// An in-process engine for service tests: faults and orderings the real daemon cannot be made
// to produce on demand.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
#include "server/service.h"

namespace dockline::testing {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;

// Runs callbacks on one thread of its own, as an engine runs them on its io threads.
class Executor {
 public:
  Executor() : thread_([this] { Loop(); }) {}
  ~Executor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  void PostAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      timed_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      while (!stop_ && tasks_.empty()) {
        if (timed_.empty()) {
          cv_.wait(lock);
        } else if (timed_.begin()->first <= std::chrono::steady_clock::now()) {
          tasks_.push_back(std::move(timed_.begin()->second));
          timed_.erase(timed_.begin());
        } else {
          cv_.wait_until(lock, timed_.begin()->first);
        }
      }
      if (tasks_.empty()) {
        return;
      }
      auto fn = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timed_;
  bool stop_ = false;
  std::thread thread_;
};

// A streamed body the test writes into and may end.
class FakeBody : public engine::BodyStream {
 public:
  explicit FakeBody(Executor* executor) : executor_(executor) {}

  void Read(ReadCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(cb);
    DeliverLocked();
  }
  void Write(std::string, WriteCallback cb) override {
    executor_->Post([cb] { cb(engine::Status(engine::Code::kBadRequest, "not hijacked")); });
  }
  void CloseWrite(WriteCallback cb) override { Write("", std::move(cb)); }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    DeliverLocked();
  }

  void Push(std::string data) {
    std::lock_guard<std::mutex> lock(mu_);
    chunks_.push_back(std::move(data));
    DeliverLocked();
  }
  // The body ends after what was pushed.
  void End() {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    DeliverLocked();
  }
  void Fail(engine::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::move(status);
    DeliverLocked();
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  void DeliverLocked() {
    if (!pending_) {
      return;
    }
    auto cb = std::move(pending_);
    pending_ = nullptr;
    if (cancelled_) {
      executor_->Post(
          [cb] { cb(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false); });
    } else if (failure_) {
      executor_->Post([cb, st = *failure_] { cb(st, {}, false); });
    } else if (!chunks_.empty()) {
      executor_->Post([cb, data = chunks_.front()] { cb(engine::Status::Ok(), data, false); });
      chunks_.pop_front();
    } else if (ended_) {
      executor_->Post([cb] { cb(engine::Status::Ok(), {}, true); });
    } else {
      pending_ = std::move(cb);
    }
  }

  Executor* executor_;
  std::mutex mu_;
  ReadCallback pending_;
  std::deque<std::string> chunks_;
  std::optional<engine::Status> failure_;
  bool cancelled_ = false;
  bool ended_ = false;
};

class NoopCall : public engine::Call {
 public:
  void Cancel() override {}
};

// Records every request; answers unary ones from `unary` (a function of the request) and
// streams with a FakeBody the test holds.
class FakeEngine : public engine::Engine {
 public:
  std::shared_ptr<engine::Call> Unary(ApiRequest request, UnaryCallback cb) override {
    Result<ApiResponse> reply = Answer(request);
    // Queued as it is recorded: a test that awaits the call and then acts on a body knows the
    // reply runs first.
    Record("UNARY", request, [this, cb, reply]() mutable {
      executor_.Post([cb, reply]() mutable { cb(std::move(reply)); });
    });
    return std::make_shared<NoopCall>();
  }
  std::shared_ptr<engine::Call> Stream(ApiRequest request, StreamCallback cb) override {
    if (engine::Status st = open ? open(request) : engine::Status::Ok(); !st.ok()) {
      Record("STREAM", request);
      executor_.Post([cb, st] { cb(Result<ApiResponse>(st), nullptr); });
      return std::make_shared<NoopCall>();
    }
    auto body = std::make_shared<FakeBody>(&executor_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(body);
    }
    Record("STREAM", request);
    if (stream) {
      stream(request, body);
    }
    ApiResponse header;
    header.status = 200;
    executor_.Post([cb, header, body] { cb(Result<ApiResponse>(header), body); });
    return body;
  }
  // Reads the whole body from `source` into the recorded request's body, then answers as Unary
  // does; a source's failure is the call's.
  std::shared_ptr<engine::Call> Upload(ApiRequest request, BodySource source,
                                       UnaryCallback cb) override {
    auto pull = std::make_shared<std::function<void(ApiRequest)>>();
    *pull = [this, source, cb, pull](ApiRequest req) {
      source([this, cb, pull, req](const engine::Status& st, std::string data, bool eof) mutable {
        if (!st.ok()) {
          return executor_.Post([cb, st, pull] {
            *pull = nullptr;  // breaks the cycle
            cb(Result<ApiResponse>(st));
          });
        }
        req.body += data;
        if (!eof) {
          return executor_.Post([pull, req] { (*pull)(req); });
        }
        executor_.Post([pull] { *pull = nullptr; });  // breaks the cycle
        Unary(std::move(req), cb);
      });
    };
    executor_.Post([pull, request] { (*pull)(request); });
    return std::make_shared<NoopCall>();
  }
  std::string ApiVersion() const override { return api_version; }
  std::shared_ptr<engine::Call> Schedule(std::chrono::milliseconds delay,
                                         std::function<void(bool)> fn) override {
    executor_.PostAfter(delay, [fn = std::move(fn)] { fn(false); });
    return std::make_shared<NoopCall>();
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<ApiRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until `n` calls were made (a hang guard, not a timing assertion).
  bool AwaitCalls(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return calls_.size() >= n; });
  }
  std::shared_ptr<FakeBody> body(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return i < bodies_.size() ? bodies_[i] : nullptr;
  }

  std::function<Result<ApiResponse>(const ApiRequest&)> unary;
  // Scripts a stream's body as it opens (pushes wait until the reader asks).
  std::function<void(const ApiRequest&, const std::shared_ptr<FakeBody>&)> stream;
  // Scripts a stream's opening: a failure is the daemon's non-2xx answer to it (no body).
  std::function<engine::Status(const ApiRequest&)> open;
  std::string api_version = "1.41";

 private:
  Result<ApiResponse> Answer(const ApiRequest& request) {
    if (unary) {
      return unary(request);
    }
    return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
  }
  void Record(const char* kind, const ApiRequest& request,
              const std::function<void()>& then = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::string(kind) + " " + request.method + " " + request.path);
    requests_.push_back(request);
    if (then) {
      then();
    }
    cv_.notify_all();
  }

  Executor executor_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::vector<ApiRequest> requests_;
  std::vector<std::shared_ptr<FakeBody>> bodies_;
};

inline Result<ApiResponse> Reply(const nlohmann::json& body, int status = 200) {
  ApiResponse res;
  res.status = status;
  res.body = body.dump();
  return Result<ApiResponse>(std::move(res));
}

inline std::string QueryValue(const ApiRequest& request, const std::string& key) {
  for (const auto& [k, v] : request.query) {
    if (k == key) {
      return v;
    }
  }
  return "";
}

// The dockline service over a FakeEngine, served on a loopback port.
struct ScriptedService {
  ScriptedService() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service.get());
    server = builder.BuildAndStart();
    if (server) {
      stub = v1::Dockline::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                       grpc::InsecureChannelCredentials()));
    }
  }
  ~ScriptedService() {
    if (server) {
      server->Shutdown();
    }
  }

  std::shared_ptr<FakeEngine> engine = std::make_shared<FakeEngine>();
  std::unique_ptr<server::DocklineService> service =
      std::make_unique<server::DocklineService>(engine);
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Dockline::Stub> stub;
};

}  // namespace dockline::testing
