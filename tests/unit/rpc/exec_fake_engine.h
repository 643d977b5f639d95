#pragma once

// A scripted engine for the exec session and the exec RPCs: one hijacked stream whose pieces,
// stdin and cancel the test controls, and unary replies from a function of the request.

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/docker_engine.h"
#include "engine/engine.h"
#include "unit/fake_engine.h"

// A namespace of its own: testing::FakeEngine (fake_engine.h) is the general fake, this one
// scripts the exec calls only.
namespace dockline::testing::exec_fake {

// The hijacked stream: scripted pieces, then EOF unless `hold_open`; records stdin and cancel.
class FakeBody : public engine::BodyStream {
 public:
  explicit FakeBody(Executor& executor) : executor_(executor) {}

  void Read(ReadCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) {
      executor_.Post(
          [cb] { cb(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false); });
      return;
    }
    if (pieces_.empty() && hold_open_) {
      held_ = std::move(cb);
      return;
    }
    if (pieces_.empty()) {
      executor_.Post([cb] { cb(engine::Status::Ok(), {}, true); });
      return;
    }
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    executor_.Post([cb, piece] { cb(engine::Status::Ok(), piece, false); });
  }
  void Write(std::string data, WriteCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    stdin_ += data;
    executor_.Post([cb] { cb(engine::Status::Ok()); });
  }
  void CloseWrite(WriteCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    stdin_closed_ = true;
    // The process saw EOF: its output ends.
    hold_open_ = false;
    if (held_) {
      executor_.Post([cb = std::move(held_)] { cb(engine::Status::Ok(), {}, true); });
      held_ = nullptr;
    }
    executor_.Post([cb] { cb(engine::Status::Ok()); });
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (held_) {
      executor_.Post([cb = std::move(held_)] {
        cb(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false);
      });
      held_ = nullptr;
    }
  }

  void Script(std::vector<std::string> pieces, bool hold_open) {
    std::lock_guard<std::mutex> lock(mu_);
    pieces_.assign(pieces.begin(), pieces.end());
    hold_open_ = hold_open;
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  std::string stdin_data() {
    std::lock_guard<std::mutex> lock(mu_);
    return stdin_;
  }
  bool stdin_closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return stdin_closed_;
  }

 private:
  Executor& executor_;
  std::mutex mu_;
  std::deque<std::string> pieces_;
  bool hold_open_ = false;
  ReadCallback held_;
  bool cancelled_ = false;
  std::string stdin_;
  bool stdin_closed_ = false;
};

class FakeEngine : public engine::Engine {
 public:
  struct Reply {
    int status = 200;
    std::string body;
  };
  std::function<Reply(const ApiRequest&)> on_unary;
  std::function<Reply(const ApiRequest&)> on_stream = [](const ApiRequest&) {
    return Reply{101, ""};
  };

  FakeEngine() : body(std::make_shared<FakeBody>(executor)) {}

  std::shared_ptr<engine::Call> Unary(ApiRequest request, UnaryCallback cb) override {
    Record(request);
    Reply reply = on_unary(request);
    executor.Post([cb, reply] {
      ApiResponse res;
      res.status = reply.status;
      res.body = reply.body;
      if (reply.status >= 200 && reply.status < 300) {
        cb(Result<ApiResponse>(res));
      } else {
        cb(Result<ApiResponse>(engine::StatusFromHttp(reply.status, reply.body), res));
      }
    });
    return std::make_shared<NoopCall>();
  }

  // Answers as a daemon that replies before reading the body (the exec tests upload nothing).
  std::shared_ptr<engine::Call> Upload(ApiRequest request, BodySource, UnaryCallback cb) override {
    return Unary(std::move(request), std::move(cb));
  }

  std::shared_ptr<engine::Call> Stream(ApiRequest request, StreamCallback cb) override {
    Record(request);
    Reply reply = on_stream(request);
    executor.Post([this, cb, reply] {
      ApiResponse res;
      res.status = reply.status;
      if (reply.status == 101) {
        cb(Result<ApiResponse>(res), body);
      } else {
        cb(Result<ApiResponse>(engine::StatusFromHttp(reply.status, reply.body), res), nullptr);
      }
    });
    return body;
  }

  std::string ApiVersion() const override { return "1.41"; }
  std::shared_ptr<engine::Call> Schedule(std::chrono::milliseconds delay,
                                         std::function<void(bool)> fn) override {
    executor.PostAfter(delay, [fn = std::move(fn)] { fn(false); });
    return std::make_shared<NoopCall>();
  }

  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int Count(const std::string& prefix) {
    int n = 0;
    for (const auto& r : Requests()) {
      n += r.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
  }

  Executor executor;
  std::shared_ptr<FakeBody> body;

 private:
  void Record(const ApiRequest& request) {
    std::string line = request.method + " " + request.path;
    for (const auto& [k, v] : request.query) {
      line += (line.find('?') == std::string::npos ? "?" : "&") + k + "=" + v;
    }
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(line);
  }
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// Scripts create -> "e1", and inspect answering Running for `running_answers` calls first.
inline void ScriptDaemon(FakeEngine& engine, int running_answers, int exit_code) {
  auto inspects = std::make_shared<std::atomic<int>>(0);
  engine.on_unary = [inspects, running_answers, exit_code](const ApiRequest& r) {
    if (r.path == "/containers/c1/exec") {
      return FakeEngine::Reply{201, R"({"Id":"e1"})"};
    }
    if (r.path == "/exec/e1/json") {
      if ((*inspects)++ < running_answers) {
        return FakeEngine::Reply{200, R"({"ID":"e1","Running":true,"ExitCode":null})"};
      }
      return FakeEngine::Reply{
          200, R"({"ID":"e1","Running":false,"ExitCode":)" + std::to_string(exit_code) + "}"};
    }
    if (r.path == "/exec/e1/resize") {
      return FakeEngine::Reply{200, ""};
    }
    return FakeEngine::Reply{404, R"({"message":"page not found"})"};
  };
}

}  // namespace dockline::testing::exec_fake
