#include "engine/docker_api.h"

#include <functional>
#include <string_view>
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

// "/images/" + a reference whose '/'-separated segments are escaped one by one (the daemon's
// route takes the rest of the path as the name) + suffix. PathRefusal still refuses an empty,
// "." or ".." segment.
std::string ImagePathOf(std::string_view image, std::string_view suffix = "") {
  std::string path = "/images";
  while (true) {
    size_t slash = image.find('/');
    path += '/';
    path += UrlEncode(image.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    image.remove_prefix(slash + 1);
  }
  path += suffix;
  return path;
}

// Why `path` must not reach the daemon, or ok. Its router unescapes the path before matching and
// answers a redirect to the cleaned path, so an id segment that is empty, "." or "..", or that
// holds an escaped '/', would lead to another endpoint.
Status PathRefusal(std::string_view path) {
  std::string_view rest = path.substr(path.starts_with('/') ? 1 : 0);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find("%2F") != std::string_view::npos ||
        segment.find("%2f") != std::string_view::npos) {
      constexpr size_t kMaxShown = 120;
      std::string shown(path.substr(0, kMaxShown));
      if (path.size() > kMaxShown) {
        shown += "...";
      }
      return Status(Code::kBadRequest,
                    "refused to send \"" + shown +
                        "\": an id must be one path segment, not empty, \".\" or \"..\" and "
                        "without '/'");
    }
    if (slash == std::string_view::npos) {
      return Status::Ok();
    }
    rest.remove_prefix(slash + 1);
  }
}

// A refused request's callback runs as an engine call's would: once, on an engine thread, with
// kCancelled when the handle is cancelled first.
std::shared_ptr<Call> Refuse(Engine& engine, Status refusal,
                             std::function<void(const Status&)> fail) {
  return engine.Schedule(std::chrono::milliseconds(0),
                         [refusal = std::move(refusal), fail = std::move(fail)](bool cancelled) {
                           fail(cancelled ? Status(Code::kCancelled, "cancelled") : refusal);
                         });
}

// Every request goes out through these two, so no path the daemon would re-route is ever sent.
std::shared_ptr<Call> SendUnary(Engine& engine, ApiRequest request, Engine::UnaryCallback cb) {
  if (Status refusal = PathRefusal(request.path); !refusal.ok()) {
    return Refuse(engine, std::move(refusal), [cb = std::move(cb)](const Status& st) { cb(st); });
  }
  return engine.Unary(std::move(request), std::move(cb));
}

std::shared_ptr<Call> OpenStream(Engine& engine, ApiRequest request, Engine::StreamCallback cb) {
  if (Status refusal = PathRefusal(request.path); !refusal.ok()) {
    return Refuse(engine, std::move(refusal),
                  [cb = std::move(cb)](const Status& st) { cb(st, nullptr); });
  }
  return engine.Stream(std::move(request), std::move(cb));
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

DockerApi DockerApi::OwnedBy(std::string label_key, std::string owner) const {
  DockerApi scoped = *this;
  std::string label = label_key + "=" + owner;
  scoped.owner_ = std::make_shared<const Owner>(
      Owner{std::move(label_key), std::move(owner), std::move(label)});
  return scoped;
}

bool DockerApi::OwnsDocument(const Json& container) const {
  const Json* config = Member(container, "Config");
  const Json* labels = config != nullptr ? Member(*config, "Labels") : nullptr;
  return labels != nullptr && GetString(*labels, owner_->key) == owner_->name;
}

Json DockerApi::Scoped(const Json& filters) const {
  if (!owner_) {
    return filters;
  }
  Json scoped = filters.is_object() ? filters : Json::object();
  Json& labels = scoped["label"];
  if (!labels.is_array()) {
    labels = Json::array();
  }
  labels.push_back(owner_->label);
  return scoped;
}

namespace {

// The daemon's own words for a container that is not there, so that another owner's container
// looks exactly like a missing one.
Status NoSuchContainer(const std::string& id) {
  return Status(Code::kNotFound, "No such container: " + id, 404);
}

}  // namespace

template <typename Fail, typename Then>
std::shared_ptr<Call> DockerApi::Owned(const std::string& id, Fail fail, Then then) const {
  DockerApi unscoped = *this;
  unscoped.owner_ = nullptr;
  auto chain = std::make_shared<CallChain>();
  chain->Set(0, unscoped.InspectContainer(id, [self = *this, unscoped, chain, id, fail,
                                               then](Result<ContainerDocument> doc) mutable {
    if (!doc.ok()) {
      return fail(doc.status());
    }
    if (!self.OwnsDocument(doc->json)) {
      return fail(NoSuchContainer(id));
    }
    chain->Set(1, then(unscoped, GetString(doc->json, "Id")));
  }));
  return chain;
}

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
  if (owner_) {
    Json owned = body;
    owned["Labels"][owner_->key] = owner_->name;
    // Volumes the container creates are owned too, so that a scoped volume prune finds them.
    Json* host = owned.contains("HostConfig") ? &owned["HostConfig"] : nullptr;
    Json* mounts = host != nullptr && host->is_object() && host->contains("Mounts")
                       ? &(*host)["Mounts"]
                       : nullptr;
    if (mounts != nullptr && mounts->is_array()) {
      for (Json& mount : *mounts) {
        if (mount.is_object() && GetString(mount, "Type") == "volume") {
          mount["VolumeOptions"]["Labels"][owner_->key] = owner_->name;
        }
      }
    }
    request.body = owned.dump();
  } else {
    request.body = body.dump();
  }
  return SendUnary(*engine_, std::move(request), [done = std::move(done)](Result<ApiResponse> res) {
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
  if (owner_) {
    return Owned(id, done, [done](const DockerApi& api, const std::string& full) {
      return api.StartContainer(full, done);
    });
  }
  return SendUnary(*engine_, Short("POST", PathOf("/containers", id, "/start")),
                   ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::StopContainer(const std::string& id,
                                               std::optional<int64_t> grace_seconds,
                                               StatusDone done) const {
  if (owner_) {
    return Owned(id, done, [grace_seconds, done](const DockerApi& api, const std::string& full) {
      return api.StopContainer(full, grace_seconds, done);
    });
  }
  // No timeout of ours: the daemon waits out the grace period before it answers.
  ApiRequest request("POST", PathOf("/containers", id, "/stop"));
  if (grace_seconds) {
    request.Query("t", Seconds(*grace_seconds));
  }
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::RestartContainer(const std::string& id,
                                                  std::optional<int64_t> grace_seconds,
                                                  StatusDone done) const {
  if (owner_) {
    return Owned(id, done, [grace_seconds, done](const DockerApi& api, const std::string& full) {
      return api.RestartContainer(full, grace_seconds, done);
    });
  }
  ApiRequest request("POST", PathOf("/containers", id, "/restart"));
  if (grace_seconds) {
    request.Query("t", Seconds(*grace_seconds));
  }
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::KillContainer(const std::string& id, const std::string& signal,
                                               StatusDone done) const {
  if (owner_) {
    return Owned(id, done, [signal, done](const DockerApi& api, const std::string& full) {
      return api.KillContainer(full, signal, done);
    });
  }
  ApiRequest request = Short("POST", PathOf("/containers", id, "/kill"));
  if (!signal.empty()) {
    request.Query("signal", signal);
  }
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::RemoveContainer(const std::string& id, bool force, bool volumes,
                                                 StatusDone done) const {
  if (owner_) {
    return Owned(id, done, [force, volumes, done](const DockerApi& api, const std::string& full) {
      return api.RemoveContainer(full, force, volumes, done);
    });
  }
  ApiRequest request = Short("DELETE", PathOf("/containers", id));
  request.Query("force", force ? "1" : "0").Query("v", volumes ? "1" : "0");
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::InspectContainer(const std::string& id,
                                                  Done<ContainerDocument> done) const {
  return SendUnary(*engine_, Short("GET", PathOf("/containers", id, "/json")),
                   [self = *this, id, done = std::move(done)](Result<ApiResponse> res) {
                     Result<Json> j = ParseDocument(res, "inspect", false);
                     if (!j.ok()) {
                       return done(j.status());
                     }
                     if (self.owner_ && !self.OwnsDocument(j.value())) {
                       return done(NoSuchContainer(id));
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
  WithFilters(request, Scoped(query.filters));
  return SendUnary(*engine_, std::move(request),
                   ToDocument(std::move(done), "container list", true));
}

std::shared_ptr<Call> DockerApi::WaitContainer(const std::string& id, const std::string& condition,
                                               std::chrono::milliseconds timeout,
                                               std::function<void()> registered,
                                               Done<ExitStatus> done) const {
  if (owner_) {
    return Owned(
        id, done,
        [condition, timeout, registered, done](const DockerApi& api, const std::string& full) {
          return api.WaitContainer(full, condition, timeout, registered, done);
        });
  }
  ApiRequest request("POST", PathOf("/containers", id, "/wait"));
  request.Query("condition", condition);
  request.timeout = timeout;
  auto chain = std::make_shared<CallChain>();
  // The header comes at once and the body only at the exit, so the body stream becomes the
  // step a cancel must close.
  chain->Set(
      0, OpenStream(
             *engine_, std::move(request),
             [chain, registered = std::move(registered), done](Result<ApiResponse> res,
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
                   return done(Status(Code::kProtocolError,
                                      "the daemon's wait reply is not understood: " + data));
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
  if (owner_) {
    auto fail = [done](const Status& st) { done(st, nullptr); };
    return Owned(id, fail, [query, done](const DockerApi& api, const std::string& full) {
      return api.ContainerLogs(full, query, done);
    });
  }
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
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::AttachContainer(const std::string& id, const AttachQuery& query,
                                                 Engine::StreamCallback done) const {
  if (owner_) {
    auto fail = [done](const Status& st) { done(st, nullptr); };
    return Owned(id, fail, [query, done](const DockerApi& api, const std::string& full) {
      return api.AttachContainer(full, query, done);
    });
  }
  ApiRequest request("POST", PathOf("/containers", id, "/attach"));
  request.Query("stream", "1")
      .Query("stdin", query.want_stdin ? "1" : "0")
      .Query("stdout", query.want_stdout ? "1" : "0")
      .Query("stderr", query.want_stderr ? "1" : "0")
      .Query("logs", query.logs ? "1" : "0");
  if (!query.detach_keys.empty()) {
    request.Query("detachKeys", query.detach_keys);
  }
  request.upgrade = true;
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::ResizeContainer(const std::string& id, uint32_t rows,
                                                 uint32_t columns, StatusDone done) const {
  if (owner_) {
    return Owned(id, done, [rows, columns, done](const DockerApi& api, const std::string& full) {
      return api.ResizeContainer(full, rows, columns, done);
    });
  }
  ApiRequest request = Short("POST", PathOf("/containers", id, "/resize"));
  request.Query("h", std::to_string(rows)).Query("w", std::to_string(columns));
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::ContainerStats(const std::string& id, Done<Json> done) const {
  if (owner_) {
    return Owned(id, done, [done](const DockerApi& api, const std::string& full) {
      return api.ContainerStats(full, done);
    });
  }
  ApiRequest request = Short("GET", PathOf("/containers", id, "/stats"));
  request.Query("stream", "0");
  return SendUnary(*engine_, std::move(request),
                   ToDocument(std::move(done), "container stats", false));
}

std::shared_ptr<Call> DockerApi::StreamContainerStats(const std::string& id,
                                                      Engine::StreamCallback done) const {
  if (owner_) {
    auto fail = [done](const Status& st) { done(st, nullptr); };
    return Owned(id, fail, [done](const DockerApi& api, const std::string& full) {
      return api.StreamContainerStats(full, done);
    });
  }
  ApiRequest request("GET", PathOf("/containers", id, "/stats"));
  request.Query("stream", "1");
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::GetArchive(const std::string& id, const std::string& path,
                                            Engine::StreamCallback done) const {
  if (owner_) {
    auto fail = [done](const Status& st) { done(st, nullptr); };
    return Owned(id, fail, [path, done](const DockerApi& api, const std::string& full) {
      return api.GetArchive(full, path, done);
    });
  }
  ApiRequest request("GET", PathOf("/containers", id, "/archive"));
  request.Query("path", path);
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::PutArchive(const std::string& id, const std::string& path,
                                            PutArchiveOptions options, Engine::BodySource source,
                                            StatusDone done) const {
  if (owner_) {
    return Owned(id, done,
                 [path, options, source, done](const DockerApi& api, const std::string& full) {
                   return api.PutArchive(full, path, options, source, done);
                 });
  }
  ApiRequest request("PUT", PathOf("/containers", id, "/archive"));
  request.Query("path", path);
  if (options.no_overwrite_dir_non_dir) {
    request.Query("noOverwriteDirNonDir", "1");
  }
  if (options.copy_uid_gid) {
    request.Query("copyUIDGID", "1");
  }
  request.content_type = "application/x-tar";
  auto finish = [done = std::move(done)](Result<ApiResponse> res) {
    const Status& st = res.status();
    if (st.code() == Code::kDaemonError &&
        (st.message().find("not a directory") != std::string::npos ||
         st.message().find("read-only") != std::string::npos ||
         st.message().find("cannot overwrite") != std::string::npos)) {
      return done(Status(Code::kConflict, st.message(), st.http_status()));
    }
    done(st);
  };
  if (Status refusal = PathRefusal(request.path); !refusal.ok()) {
    return Refuse(*engine_, std::move(refusal),
                  [finish](const Status& st) { finish(Result<ApiResponse>(st)); });
  }
  return engine_->Upload(std::move(request), std::move(source), std::move(finish));
}

std::shared_ptr<Call> DockerApi::CreateExec(const std::string& container, const Json& body,
                                            Done<std::string> done) const {
  if (owner_) {
    return Owned(container, done, [body, done](const DockerApi& api, const std::string& full) {
      return api.CreateExec(full, body, done);
    });
  }
  ApiRequest request = Short("POST", PathOf("/containers", container, "/exec"));
  request.body = body.dump();
  return SendUnary(*engine_, std::move(request), [done = std::move(done)](Result<ApiResponse> res) {
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
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::StartExecAttached(const std::string& exec_id, bool tty,
                                                   Engine::StreamCallback done) const {
  // No deadline: the stream lasts as long as the process.
  ApiRequest request("POST", PathOf("/exec", exec_id, "/start"));
  request.body = Json{{"Detach", false}, {"Tty", tty}}.dump();
  request.upgrade = true;
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::InspectExec(const std::string& exec_id, Done<Json> done) const {
  if (owner_) {
    // An exec belongs to whoever owns its container.
    DockerApi unscoped = *this;
    unscoped.owner_ = nullptr;
    auto chain = std::make_shared<CallChain>();
    chain->Set(
        0, unscoped.InspectExec(exec_id, [self = *this, chain, exec_id, done](Result<Json> exec) {
          if (!exec.ok()) {
            return done(exec.status());
          }
          std::string container = GetString(exec.value(), "ContainerID");
          chain->Set(1, self.InspectContainer(container, [exec, exec_id,
                                                          done](Result<ContainerDocument> doc) {
            if (!doc.ok()) {
              return done(doc.status().code() == Code::kNotFound
                              ? Status(Code::kNotFound, "No such exec instance: " + exec_id, 404)
                              : doc.status());
            }
            done(exec.value());
          }));
        }));
    return chain;
  }
  return SendUnary(*engine_, Short("GET", PathOf("/exec", exec_id, "/json")),
                   ToDocument(std::move(done), "exec inspect", false));
}

std::shared_ptr<Call> DockerApi::ResizeExec(const std::string& exec_id, uint32_t rows,
                                            uint32_t columns, StatusDone done) const {
  ApiRequest request = Short("POST", PathOf("/exec", exec_id, "/resize"));
  request.Query("h", std::to_string(rows)).Query("w", std::to_string(columns));
  return SendUnary(*engine_, std::move(request), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::Events(const EventsQuery& query, std::chrono::milliseconds timeout,
                                        Engine::StreamCallback done) const {
  ApiRequest request("GET", "/events");
  Json filters = Scoped(query.filters);
  if (owner_ && !filters.contains("type")) {
    filters["type"] = Json::array({"container"});
  }
  WithFilters(request, filters);
  if (!query.since.empty()) {
    request.Query("since", query.since);
  }
  if (!query.until.empty()) {
    request.Query("until", query.until);
  }
  request.timeout = timeout;
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::Version(Done<Json> done) const {
  return SendUnary(*engine_, Short("GET", "/version"),
                   ToDocument(std::move(done), "version", false));
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
  WithFilters(request, Scoped(filters));
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), kWhat[index], false));
}

std::shared_ptr<Call> DockerApi::ListImages(const ListImagesQuery& query, Done<Json> done) const {
  ApiRequest request = Short("GET", "/images/json");
  if (query.all) {
    request.Query("all", "1");
  }
  WithFilters(request, query.owner_scoped ? Scoped(query.filters) : query.filters);
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), "image list", true));
}

std::shared_ptr<Call> DockerApi::InspectImage(const std::string& image,
                                              Done<ContainerDocument> done) const {
  return SendUnary(*engine_, Short("GET", ImagePathOf(image, "/json")),
                   [done = std::move(done)](Result<ApiResponse> res) {
                     Result<Json> doc = ParseDocument(res, "image inspect", false);
                     if (!doc.ok()) {
                       return done(doc.status());
                     }
                     done(ContainerDocument{std::move(res->body), std::move(doc.value())});
                   });
}

std::shared_ptr<Call> DockerApi::PullImage(const PullQuery& query,
                                           Engine::StreamCallback done) const {
  ApiRequest request("POST", "/images/create");
  request.Query("fromImage", query.image);
  if (!query.platform.empty()) {
    request.Query("platform", query.platform);
  }
  if (!query.registry_auth.empty()) {
    request.headers.emplace_back("X-Registry-Auth", query.registry_auth);
  }
  return OpenStream(*engine_, std::move(request), std::move(done));
}

std::shared_ptr<Call> DockerApi::RemoveImage(const std::string& image, bool force, bool no_prune,
                                             Done<Json> done) const {
  ApiRequest request = Short("DELETE", ImagePathOf(image));
  if (force) {
    request.Query("force", "1");
  }
  if (no_prune) {
    request.Query("noprune", "1");
  }
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), "image remove", true));
}

std::shared_ptr<Call> DockerApi::ListVolumes(const Json& filters, Done<Json> done) const {
  ApiRequest request = Short("GET", "/volumes");
  WithFilters(request, Scoped(filters));
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), "volume list", false));
}

std::shared_ptr<Call> DockerApi::ListNetworks(const Json& filters, Done<Json> done) const {
  ApiRequest request = Short("GET", "/networks");
  WithFilters(request, Scoped(filters));
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), "network list", true));
}

std::shared_ptr<Call> DockerApi::InspectNetwork(const std::string& id, Done<Json> done) const {
  return SendUnary(*engine_, Short("GET", PathOf("/networks", id)),
                   ToDocument(std::move(done), "network inspect", false));
}

std::shared_ptr<Call> DockerApi::RemoveVolume(const std::string& name, StatusDone done) const {
  return SendUnary(*engine_, Short("DELETE", PathOf("/volumes", name)), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::RemoveNetwork(const std::string& id, StatusDone done) const {
  return SendUnary(*engine_, Short("DELETE", PathOf("/networks", id)), ToStatus(std::move(done)));
}

std::shared_ptr<Call> DockerApi::DiskUsage(const std::string& type, Done<Json> done) const {
  ApiRequest request = Short("GET", "/system/df");
  if (!type.empty()) {
    request.Query("type", type);
  }
  return SendUnary(*engine_, std::move(request), ToDocument(std::move(done), "disk usage", false));
}

}  // namespace dockline::engine
