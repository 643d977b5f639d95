#include "engine/docker_api.h"

#include <utility>

#include "engine/json_util.h"
#include "engine/read_all.h"
#include "engine/url.h"

namespace dockline::engine {
namespace {

// "/containers/" + one escaped segment + suffix: the one place ids enter a path.
std::string PathOf(std::string_view collection, std::string_view id, std::string_view suffix = "") {
  std::string path(collection);
  path += '/';
  path += UrlEncode(id);
  path += suffix;
  return path;
}

ApiRequest& WithFilters(ApiRequest& request, const Json& filters) {
  if (filters.is_object() && !filters.empty()) {
    request.Query("filters", filters.dump());
  }
  return request;
}

Status NotUnderstood(std::string_view what, std::string_view wanted) {
  return Status(Code::kProtocolError,
                "the daemon's " + std::string(what) + " reply is not " + std::string(wanted));
}

// A reply document of the expected JSON kind, or kProtocolError naming the endpoint.
Result<Json> ParseDocument(const Result<ApiResponse>& res, std::string_view what, bool array) {
  if (!res.status().ok()) {
    return res.status();
  }
  Json j = Json::parse(res->body, nullptr, false);
  if (array ? !j.is_array() : !j.is_object()) {
    return NotUnderstood(what, array ? "a JSON array" : "a JSON object");
  }
  return j;
}

Engine::UnaryCallback ToStatus(StatusDone done) {
  return [done = std::move(done)](Result<ApiResponse> res) { done(res.status()); };
}

Engine::UnaryCallback ToDocument(Done<Json> done, std::string_view what, bool array) {
  return [done = std::move(done), what = std::string(what), array](Result<ApiResponse> res) {
    done(ParseDocument(res, what, array));
  };
}

std::string Seconds(int64_t s) { return std::to_string(s); }

}  // namespace

void CallChain::Set(size_t index, std::shared_ptr<Call> step) {
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!step_ || index >= index_) {
      step_ = step;
      index_ = index;
    }
    cancel = cancelled_;
  }
  if (cancel && step) {
    step->Cancel();
  }
}

void CallChain::Cancel() {
  std::shared_ptr<Call> step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    step = step_;
  }
  if (step) {
    step->Cancel();
  }
}

bool CallChain::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

DockerApi::DockerApi(std::shared_ptr<Engine> engine, std::chrono::milliseconds unary_timeout)
    : engine_(std::move(engine)), unary_timeout_(unary_timeout) {}

ApiRequest DockerApi::Short(std::string method, std::string path) const {
  ApiRequest request(std::move(method), std::move(path));
  request.timeout = unary_timeout_;
  return request;
}

std::shared_ptr<Call> DockerApi::CreateContainer(const std::string& name, const Json& body,
                                                 Done<CreatedContainer> done) const {
  ApiRequest request = Short("POST", "/containers/create");
  if (!name.empty()) {
    request.Query("name", name);
  }
  request.body = body.dump();
  return engine_->Unary(std::move(request), [done = std::move(done)](Result<ApiResponse> res) {
    if (!res.status().ok()) {
      return done(res.status());
    }
    Json j = Json::parse(res->body, nullptr, false);
    CreatedContainer created;
    created.id = GetString(j, "Id");
    if (const Json* warnings = Member(j, "Warnings"); warnings != nullptr && warnings->is_array()) {
      for (const Json& w : *warnings) {
        if (w.is_string()) {
          created.warnings.push_back(w.get<std::string>());
        }
      }
    }
    if (created.id.empty()) {
      return done(Status(Code::kProtocolError, "the daemon's create reply has no Id"));
    }
    done(std::move(created));
  });
}

std::shared_ptr<Call> DockerApi::StartContainer(const std::string& id, StatusDone done) const {
  return engine_->Unary(Short("POST", PathOf("/containers", id, "/start")),
                        ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::StopContainer(const std::string& id,
                                               std::optional<int64_t> grace_seconds,
                                               StatusDone done) const {
  // No timeout of ours: the daemon waits out the grace period before it answers.
  ApiRequest request("POST", PathOf("/containers", id, "/stop"));
  if (grace_seconds) {
    request.Query("t", Seconds(*grace_seconds));
  }
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::RestartContainer(const std::string& id,
                                                  std::optional<int64_t> grace_seconds,
                                                  StatusDone done) const {
  ApiRequest request("POST", PathOf("/containers", id, "/restart"));
  if (grace_seconds) {
    request.Query("t", Seconds(*grace_seconds));
  }
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::KillContainer(const std::string& id, const std::string& signal,
                                               StatusDone done) const {
  ApiRequest request = Short("POST", PathOf("/containers", id, "/kill"));
  if (!signal.empty()) {
    request.Query("signal", signal);
  }
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::RemoveContainer(const std::string& id, bool force, bool volumes,
                                                 StatusDone done) const {
  ApiRequest request = Short("DELETE", PathOf("/containers", id));
  request.Query("force", force ? "1" : "0").Query("v", volumes ? "1" : "0");
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::InspectContainer(const std::string& id,
                                                  Done<ContainerDocument> done) const {
  return engine_->Unary(Short("GET", PathOf("/containers", id, "/json")),
                        [done = std::move(done)](Result<ApiResponse> res) {
                          Result<Json> j = ParseDocument(res, "inspect", false);
                          if (!j.ok()) {
                            return done(j.status());
                          }
                          done(ContainerDocument{std::move(res->body), std::move(j.value())});
                        });
}

std::shared_ptr<Call> DockerApi::ListContainers(const ListContainersQuery& query,
                                                Done<Json> done) const {
  ApiRequest request = Short("GET", "/containers/json");
  if (query.all) {
    request.Query("all", "1");
  }
  if (query.limit > 0) {
    request.Query("limit", std::to_string(query.limit));
  }
  if (query.size) {
    request.Query("size", "1");
  }
  WithFilters(request, query.filters);
  return engine_->Unary(std::move(request), ToDocument(std::move(done), "container list", true));
}

std::shared_ptr<Call> DockerApi::WaitContainer(const std::string& id, const std::string& condition,
                                               std::chrono::milliseconds timeout,
                                               std::function<void()> registered,
                                               Done<ExitStatus> done) const {
  ApiRequest request("POST", PathOf("/containers", id, "/wait"));
  request.Query("condition", condition);
  request.timeout = timeout;
  auto chain = std::make_shared<CallChain>();
  // The header comes at once and the body only at the exit, so the body stream becomes the
  // step a cancel must close.
  chain->Set(0, engine_->Stream(std::move(request), [chain, registered = std::move(registered),
                                                     done](Result<ApiResponse> res,
                                                           std::shared_ptr<BodyStream> body) {
    if (!res.status().ok() || !body) {
      return done(res.status().ok() ? Status(Code::kProtocolError, "wait gave no body")
                                    : res.status());
    }
    chain->Set(1, body);
    if (registered) {
      registered();
    }
    ReadAll(body, [done](const Status& st, std::string data) {
      if (!st.ok()) {
        return done(st);
      }
      Json j = Json::parse(data, nullptr, false);
      if (Member(j, "StatusCode") == nullptr) {
        return done(
            Status(Code::kProtocolError, "the daemon's wait reply is not understood: " + data));
      }
      ExitStatus exit;
      exit.exit_code = GetInt(j, "StatusCode");
      if (const Json* err = Member(j, "Error"); err != nullptr && err->is_object()) {
        exit.error = GetString(*err, "Message");
      }
      done(std::move(exit));
    });
  }));
  return chain;
}

std::shared_ptr<Call> DockerApi::ContainerLogs(const std::string& id, const LogsQuery& query,
                                               Engine::StreamCallback done) const {
  ApiRequest request("GET", PathOf("/containers", id, "/logs"));
  request.Query("stdout", query.want_stdout ? "1" : "0")
      .Query("stderr", query.want_stderr ? "1" : "0")
      .Query("follow", query.follow ? "1" : "0")
      .Query("timestamps", query.timestamps ? "1" : "0")
      .Query("tail", query.tail);
  if (!query.since.empty()) {
    request.Query("since", query.since);
  }
  if (!query.until.empty()) {
    request.Query("until", query.until);
  }
  return engine_->Stream(std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::CreateExec(const std::string& container, const Json& body,
                                            Done<std::string> done) const {
  ApiRequest request = Short("POST", PathOf("/containers", container, "/exec"));
  request.body = body.dump();
  return engine_->Unary(std::move(request), [done = std::move(done)](Result<ApiResponse> res) {
    if (!res.status().ok()) {
      return done(res.status());
    }
    std::string id = GetString(Json::parse(res->body, nullptr, false), "Id");
    if (id.empty()) {
      return done(Status(Code::kProtocolError, "the daemon's exec create reply has no Id"));
    }
    done(std::move(id));
  });
}

std::shared_ptr<Call> DockerApi::StartExecDetached(const std::string& exec_id, bool tty,
                                                   StatusDone done) const {
  ApiRequest request = Short("POST", PathOf("/exec", exec_id, "/start"));
  request.body = Json{{"Detach", true}, {"Tty", tty}}.dump();
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::StartExecAttached(const std::string& exec_id, bool tty,
                                                   Engine::StreamCallback done) const {
  // No deadline: the stream lasts as long as the process.
  ApiRequest request("POST", PathOf("/exec", exec_id, "/start"));
  request.body = Json{{"Detach", false}, {"Tty", tty}}.dump();
  request.upgrade = true;
  return engine_->Stream(std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::InspectExec(const std::string& exec_id, Done<Json> done) const {
  return engine_->Unary(Short("GET", PathOf("/exec", exec_id, "/json")),
                        ToDocument(std::move(done), "exec inspect", false));
}

std::shared_ptr<Call> DockerApi::ResizeExec(const std::string& exec_id, uint32_t rows,
                                            uint32_t columns, StatusDone done) const {
  ApiRequest request = Short("POST", PathOf("/exec", exec_id, "/resize"));
  request.Query("h", std::to_string(rows)).Query("w", std::to_string(columns));
  return engine_->Unary(std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::Events(const Json& filters, std::chrono::milliseconds timeout,
                                        Engine::StreamCallback done) const {
  ApiRequest request("GET", "/events");
  WithFilters(request, filters);
  request.timeout = timeout;
  return engine_->Stream(std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::Version(Done<Json> done) const {
  return engine_->Unary(Short("GET", "/version"), ToDocument(std::move(done), "version", false));
}

std::shared_ptr<Call> DockerApi::Prune(PruneTarget target, const Json& filters,
                                       Done<Json> done) const {
  static constexpr const char* kPaths[] = {"/containers/prune", "/images/prune", "/volumes/prune",
                                           "/networks/prune"};
  static constexpr const char* kWhat[] = {"container prune", "image prune", "volume prune",
                                          "network prune"};
  auto index = static_cast<size_t>(target);
  // No deadline of ours: it lasts as long as the deleting does.
  ApiRequest request("POST", kPaths[index]);
  WithFilters(request, filters);
  return engine_->Unary(std::move(request), ToDocument(std::move(done), kWhat[index], false));
}

std::shared_ptr<Call> DockerApi::ListImages(const Json& filters, Done<Json> done) const {
  ApiRequest request = Short("GET", "/images/json");
  WithFilters(request, filters);
  return engine_->Unary(std::move(request), ToDocument(std::move(done), "image list", true));
}

std::shared_ptr<Call> DockerApi::ListVolumes(const Json& filters, Done<Json> done) const {
  ApiRequest request = Short("GET", "/volumes");
  WithFilters(request, filters);
  return engine_->Unary(std::move(request), ToDocument(std::move(done), "volume list", false));
}

std::shared_ptr<Call> DockerApi::ListNetworks(const Json& filters, Done<Json> done) const {
  ApiRequest request = Short("GET", "/networks");
  WithFilters(request, filters);
  return engine_->Unary(std::move(request), ToDocument(std::move(done), "network list", true));
}

std::shared_ptr<Call> DockerApi::InspectNetwork(const std::string& id, Done<Json> done) const {
  return engine_->Unary(Short("GET", PathOf("/networks", id)),
                        ToDocument(std::move(done), "network inspect", false));
}

std::shared_ptr<Call> DockerApi::RemoveVolume(const std::string& name, StatusDone done) const {
  return engine_->Unary(Short("DELETE", PathOf("/volumes", name)), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::DiskUsage(const std::string& type, Done<Json> done) const {
  ApiRequest request = Short("GET", "/system/df");
  if (!type.empty()) {
    request.Query("type", type);
  }
  return engine_->Unary(std::move(request), ToDocument(std::move(done), "disk usage", false));
}

}  // namespace dockline::engine
