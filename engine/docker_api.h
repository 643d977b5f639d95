#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

// The Engine API endpoints dockline uses, one typed function each. This is the only place that
// builds Engine API paths: every id, name and exec id becomes one escaped path segment here (one
// that is empty, "." or ".." or holds '/' is never sent: its callback gets kBadRequest), and
// every reply document is parsed here (a reply that is not the JSON the endpoint promises is
// Code::kProtocolError naming the endpoint). Short calls get the configured unary timeout;
// waits, follows, hijacked streams, stop/restart grace periods and prunes get none of their own
// (the caller's cancel or deadline bounds them).
//
// Thread rules: a DockerApi is an immutable value (an engine handle and a timeout); copy it
// freely. Callbacks run once each on an engine thread and must not block. Every function returns
// the handle whose Cancel() closes the call at once.

namespace dockline::engine {

using Json = nlohmann::json;

template <typename T>
using Done = std::function<void(Result<T>)>;
using StatusDone = std::function<void(const Status&)>;

// POST /containers/create.
struct CreatedContainer {
  std::string id;
  std::vector<std::string> warnings;
};

// The body of POST /containers/{id}/wait.
struct ExitStatus {
  int64_t exit_code = 0;
  std::string error;  // Error.Message, when the daemon gives one
};

// GET /containers/{id}/json: the document and the bytes it was parsed from.
struct ContainerDocument {
  std::string raw;
  Json json;  // an object
};

// GET /containers/json.
struct ListContainersQuery {
  bool all = false;
  int64_t limit = 0;  // 0: no limit
  bool size = false;
  Json filters = Json::object();  // Docker's {"key": ["value", ...]}; empty: none
};

// GET /containers/{id}/logs.
struct LogsQuery {
  bool want_stdout = true;
  bool want_stderr = true;
  bool follow = false;
  bool timestamps = false;
  std::string tail = "all";
  std::string since;  // "<unix seconds>.<nanos>"; empty: from the start
  std::string until;  // likewise; empty: no end
};

// POST /containers/{id}/attach, hijacked.
struct AttachQuery {
  bool want_stdin = false;
  bool want_stdout = true;
  bool want_stderr = true;
  bool logs = false;        // replay the output so far first
  std::string detach_keys;  // empty: the daemon's default
};

// GET /events.
struct EventsQuery {
  Json filters = Json::object();  // Docker's {"key": ["value", ...]}; empty: none
  std::string since;              // "<unix seconds>.<nanos>"; empty: from now
  std::string until;              // likewise; empty: no end
};

// GET /images/json.
struct ListImagesQuery {
  bool all = false;
  Json filters = Json::object();
  // Images are shared by every owner; a prune's dry run still lists only what the owner's prune
  // would reach (the owner's label filter).
  bool owner_scoped = false;
};

// POST /images/create.
struct PullQuery {
  std::string image;  // "name[:tag]" or "name@digest", as the caller gave it
  std::string platform;
  std::string registry_auth;  // the X-Registry-Auth value (base64url JSON); empty: none
};

enum class PruneTarget { kContainers, kImages, kVolumes, kNetworks };

class DockerApi {
 public:
  DockerApi(std::shared_ptr<Engine> engine, std::chrono::milliseconds unary_timeout);

  Engine& engine() const { return *engine_; }
  const std::shared_ptr<Engine>& engine_ptr() const { return engine_; }
  std::chrono::milliseconds unary_timeout() const { return unary_timeout_; }
  // The negotiated version ("1.41"); empty before the first successful negotiation.
  std::string ApiVersion() const { return engine_->ApiVersion(); }

  // The same API seen by an identity that owns what it creates: containers created through it
  // carry `label_key=owner` (their volume mounts too); every container or exec of another owner
  // is kNotFound ("No such container"), as if absent, and is reached by its full id only after
  // the check; listings, prunes and event streams are filtered to the label. Exec ids for
  // start/resize only ever come from CreateExec on an owned container, so they are not
  // re-checked.
  DockerApi OwnedBy(std::string label_key, std::string owner) const;
  // "key=owner" when scoped, empty otherwise.
  std::string OwnerLabel() const { return owner_ ? owner_->label : std::string(); }

  // --- containers ---
  // `name` empty: the daemon picks one. A reply without an Id is kProtocolError.
  std::shared_ptr<Call> CreateContainer(const std::string& name, const Json& body,
                                        Done<CreatedContainer> done) const;
  // kNotModified (ok) when it was already running.
  std::shared_ptr<Call> StartContainer(const std::string& id, StatusDone done) const;
  // `grace_seconds` unset: the container's own stop timeout. kNotModified when already stopped.
  std::shared_ptr<Call> StopContainer(const std::string& id, std::optional<int64_t> grace_seconds,
                                      StatusDone done) const;
  std::shared_ptr<Call> RestartContainer(const std::string& id,
                                         std::optional<int64_t> grace_seconds,
                                         StatusDone done) const;
  // `signal` empty: the daemon's default (SIGKILL).
  std::shared_ptr<Call> KillContainer(const std::string& id, const std::string& signal,
                                      StatusDone done) const;
  std::shared_ptr<Call> RemoveContainer(const std::string& id, bool force, bool volumes,
                                        StatusDone done) const;
  std::shared_ptr<Call> InspectContainer(const std::string& id, Done<ContainerDocument> done) const;
  // The reply is an array.
  std::shared_ptr<Call> ListContainers(const ListContainersQuery& query, Done<Json> done) const;

  // POST /containers/{id}/wait?condition=...: `registered` (optional) runs once the daemon has
  // answered the header, i.e. the wait is in place and no exit after this can be missed; `done`
  // runs at the exit (or with any failure, the header's included). `timeout` zero: none; when it
  // passes, `done` gets kTimeout.
  std::shared_ptr<Call> WaitContainer(const std::string& id, const std::string& condition,
                                      std::chrono::milliseconds timeout,
                                      std::function<void()> registered,
                                      Done<ExitStatus> done) const;

  // GET /containers/{id}/logs, streamed.
  std::shared_ptr<Call> ContainerLogs(const std::string& id, const LogsQuery& query,
                                      Engine::StreamCallback done) const;

  // POST /containers/{id}/attach?stream=1, hijacked: the body is the main process's output from
  // now on (after the log so far with `logs`) and takes its stdin; it ends (EOF) when the
  // process exits or the daemon detaches the client. No deadline.
  std::shared_ptr<Call> AttachContainer(const std::string& id, const AttachQuery& query,
                                        Engine::StreamCallback done) const;
  // POST /containers/{id}/resize?h=&w=: the TTY of a running container.
  std::shared_ptr<Call> ResizeContainer(const std::string& id, uint32_t rows, uint32_t columns,
                                        StatusDone done) const;

  // GET /containers/{id}/stats?stream=0: one sample, with the one before it (precpu_stats) so
  // that a CPU percent can be computed; the daemon takes about a second to answer.
  std::shared_ptr<Call> ContainerStats(const std::string& id, Done<Json> done) const;
  // GET /containers/{id}/stats?stream=1: a JSON sample per line, about one a second.
  std::shared_ptr<Call> StreamContainerStats(const std::string& id,
                                             Engine::StreamCallback done) const;

  // GET /containers/{id}/archive?path=: a tar of `path` (a directory with its contents); the
  // header X-Docker-Container-Path-Stat (base64 JSON) describes `path`. 404 names a missing
  // container or path.
  std::shared_ptr<Call> GetArchive(const std::string& id, const std::string& path,
                                   Engine::StreamCallback done) const;
  // PUT /containers/{id}/archive?path=: extracts the tar `source` gives into the directory
  // `path`. The daemon's 500s for a target that is not a directory, a read-only root filesystem
  // or an entry that no_overwrite_dir_non_dir refuses are kConflict: the container's state, not
  // a daemon failure.
  struct PutArchiveOptions {
    bool no_overwrite_dir_non_dir = false;
    bool copy_uid_gid = false;
  };
  std::shared_ptr<Call> PutArchive(const std::string& id, const std::string& path,
                                   PutArchiveOptions options, Engine::BodySource source,
                                   StatusDone done) const;

  // --- exec ---
  // POST /containers/{id}/exec; the reply's Id. A reply without one is kProtocolError.
  std::shared_ptr<Call> CreateExec(const std::string& container, const Json& body,
                                   Done<std::string> done) const;
  // POST /exec/{id}/start with Detach=true.
  std::shared_ptr<Call> StartExecDetached(const std::string& exec_id, bool tty,
                                          StatusDone done) const;
  // POST /exec/{id}/start, hijacked: the body is the process's output (and takes its stdin).
  std::shared_ptr<Call> StartExecAttached(const std::string& exec_id, bool tty,
                                          Engine::StreamCallback done) const;
  // The reply is an object.
  std::shared_ptr<Call> InspectExec(const std::string& exec_id, Done<Json> done) const;
  std::shared_ptr<Call> ResizeExec(const std::string& exec_id, uint32_t rows, uint32_t columns,
                                   StatusDone done) const;

  // --- images ---
  // References may hold '/' (a repository path): each of their segments is escaped on its own.
  // GET /images/{name}/json: the document and its bytes.
  std::shared_ptr<Call> InspectImage(const std::string& image, Done<ContainerDocument> done) const;
  // POST /images/create, streamed: one JSON progress object per line. A failure once the
  // daemon has begun answering comes as an `error` line in a 200 body, not as a status. No
  // deadline of ours: a pull lasts as long as the download does.
  std::shared_ptr<Call> PullImage(const PullQuery& query, Engine::StreamCallback done) const;
  // DELETE /images/{name}; the reply is an array of {"Untagged"|"Deleted": ...}.
  std::shared_ptr<Call> RemoveImage(const std::string& image, bool force, bool no_prune,
                                    Done<Json> done) const;

  // --- events, engine ---
  // GET /events?filters=...&since=...&until=..., streamed (one JSON object per line); with
  // `until` the daemon ends the stream there. `timeout` zero: none. An owner that names no
  // type gets container events only (other objects' events carry no owner of theirs).
  std::shared_ptr<Call> Events(const EventsQuery& query, std::chrono::milliseconds timeout,
                               Engine::StreamCallback done) const;
  // GET /version; the reply is an object.
  std::shared_ptr<Call> Version(Done<Json> done) const;

  // --- prune and what its dry runs list ---
  // POST /<kind>/prune; the reply is an object.
  std::shared_ptr<Call> Prune(PruneTarget target, const Json& filters, Done<Json> done) const;
  // GET /images/json (array), GET /volumes (object), GET /networks (array).
  std::shared_ptr<Call> ListImages(const ListImagesQuery& query, Done<Json> done) const;
  std::shared_ptr<Call> ListVolumes(const Json& filters, Done<Json> done) const;
  std::shared_ptr<Call> ListNetworks(const Json& filters, Done<Json> done) const;
  // GET /networks/{id}; the reply is an object.
  std::shared_ptr<Call> InspectNetwork(const std::string& id, Done<Json> done) const;
  std::shared_ptr<Call> RemoveVolume(const std::string& name, StatusDone done) const;
  // DELETE /networks/{id}. One with endpoints: the daemon answers 403 (kDaemonError, http 403).
  std::shared_ptr<Call> RemoveNetwork(const std::string& id, StatusDone done) const;
  // GET /system/df, with ?type= when `type` is not empty (API 1.42+); the reply is an object.
  std::shared_ptr<Call> DiskUsage(const std::string& type, Done<Json> done) const;

 private:
  ApiRequest Short(std::string method, std::string path) const;
  // Runs then(unscoped_api, full_id) once `id` is a container this owner owns; `fail` gets the
  // inspect's error or kNotFound otherwise.
  template <typename Fail, typename Then>
  std::shared_ptr<Call> Owned(const std::string& id, Fail fail, Then then) const;
  bool OwnsDocument(const Json& container) const;
  Json Scoped(const Json& filters) const;

  std::shared_ptr<Engine> engine_;
  std::chrono::milliseconds unary_timeout_;
  struct Owner {
    std::string key;
    std::string name;
    std::string label;  // key=name, as a label filter
  };
  std::shared_ptr<const Owner> owner_;  // null: not scoped
};

// A call made of several steps (a wait's header, then its body): Cancel() closes whichever step
// is current, and a step set after the cancel is closed at once. Steps are numbered because the
// handle of step n may arrive after step n+1 has started (its callback can run before the call
// that started it has returned): the highest number is the current step. Thread-safe.
class CallChain : public Call {
 public:
  void Set(size_t index, std::shared_ptr<Call> step);
  void Cancel() override;
  bool cancelled() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<Call> step_;
  size_t index_ = 0;
  bool cancelled_ = false;
};

}  // namespace dockline::engine
