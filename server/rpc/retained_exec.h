#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/docker_api.h"
#include "server/codec/exec_codec.h"
#include "server/rpc/exec_session.h"

// Exec output that outlives the client's connection (StartExec/StreamExec{retain_output}): the
// server, not the client, reads the exec's hijacked stream into a bounded buffer, and any number
// of streams read that buffer from a byte offset (StreamExec{exec_id, offset}). Docker cannot
// re-attach to an exec's output, so whatever reads it must outlive the call that started it.

namespace dockline::server {

struct RetainOptions {
  // Output kept per exec. While a client is attached and behind, the daemon is not read (the
  // client's backpressure, as without retention); while none is, the oldest bytes go.
  size_t bytes = 1 << 20;
  // How long an exited exec's output and exit code stay after the exit.
  std::chrono::milliseconds linger{std::chrono::minutes(5)};
  // Execs kept at once (running or lingering); past it the exec that exited first goes, or, when
  // all are running, a new retained exec is RESOURCE_EXHAUSTED.
  size_t max_execs = 256;
};

struct RetainedPiece {
  engine::StreamKind kind = engine::StreamKind::kStdout;
  std::string data;
};

// What one read of the buffer gives.
struct RetainedSlice {
  std::vector<RetainedPiece> pieces;
  uint64_t start = 0;  // the offset of the first byte in `pieces`
  uint64_t lost = 0;   // bytes asked for (from the read's offset) that are no longer kept
  uint64_t next = 0;   // the offset just after `pieces`
  // Nothing follows `next`: the exec exited (exit_code) or failed (status).
  bool end = false;
  std::optional<int> exit_code;
  // At the end: OK, DATA_LOSS when the daemon cut the output inside a frame, or the failure.
  grpc::Status status;
};

class RetainedExecs;

// One retained exec. Thread rules: its state is under mu_, which is never held while calling
// out (the session, a reader's wake, the registry). Readers are woken (from engine threads)
// whenever output, the exit or a failure arrives; they then Read() from their own offset.
class RetainedExec : public ExecSession::Listener,
                     public std::enable_shared_from_this<RetainedExec> {
 public:
  using Started = std::function<void(const grpc::Status& status, const std::string& exec_id)>;

  RetainedExec(std::string owner, RetainOptions options, std::weak_ptr<RetainedExecs> registry);

  const std::string& owner() const { return owner_; }

  // A reader, woken (on any thread, no lock held) when there is something new to read. Its
  // position (the offset after its last Read) holds the daemon back when the buffer is full.
  uint64_t AddReader(uint64_t offset, std::function<void()> wake);
  void RemoveReader(uint64_t reader);
  // OUT_OF_RANGE when `offset` is past the output written so far.
  grpc::Status Read(uint64_t reader, uint64_t offset, size_t max_bytes, RetainedSlice* slice);

  // Closes the daemon connection (the process keeps running); readers see CANCELLED.
  void Close();

  // --- ExecSession::Listener (engine threads) ---
  void OnExecStarted(const std::string& exec_id) override;
  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override;
  void OnExecExited(int exit_code, const grpc::Status& output_end) override;
  void OnExecFailed(const grpc::Status& status) override;

 private:
  friend class RetainedExecs;
  void Begin(const engine::DockerApi& api, ExecPlan plan, Started started);
  // mu_ held: whether the daemon may be read now (and marks the read as in flight).
  bool TakeRead();
  void ReadMore();  // no lock held
  void Trim();      // mu_ held
  void Ended();     // no lock held: wakes the readers and starts the linger
  std::vector<std::function<void()>> Wakes();  // mu_ held

  const std::string owner_;
  const RetainOptions options_;
  const std::weak_ptr<RetainedExecs> registry_;
  // Set by Begin, before the session can call back.
  std::shared_ptr<ExecSession> session_;
  std::unique_ptr<engine::DockerApi> api_;  // for the linger timer

  std::mutex mu_;
  Started started_;  // until the exec has started (or failed before)
  std::string id_;
  std::deque<RetainedPiece> buffer_;
  uint64_t base_ = 0;  // the offset of buffer_'s first byte
  uint64_t end_ = 0;   // the offset after its last
  bool reading_ = false;
  bool eof_ = false;
  bool ended_ = false;
  std::optional<int> exit_code_;
  grpc::Status end_status_;
  struct Reader {
    uint64_t position = 0;
    std::function<void()> wake;
  };
  std::map<uint64_t, Reader> readers_;
  uint64_t next_reader_ = 1;
};

// The server's retained execs, by exec id. Thread-safe; owned by the service, shared by calls.
class RetainedExecs : public std::enable_shared_from_this<RetainedExecs> {
 public:
  explicit RetainedExecs(RetainOptions options) : options_(options) {}
  ~RetainedExecs();

  const RetainOptions& options() const { return options_; }

  // Starts `plan` (attached, not detached) retained for `owner`; `started` runs once, with the
  // exec id or the failure before the exec started (RESOURCE_EXHAUSTED when full). A reader
  // added before Begin gets everything.
  std::shared_ptr<RetainedExec> Start(const engine::DockerApi& api, ExecPlan plan,
                                      const std::string& owner, RetainedExec::Started started);
  // The exec `exec_id` retained for `owner`, or NOT_FOUND naming exec_id: another owner's is
  // not told apart from none.
  grpc::Status Find(const std::string& exec_id, const std::string& owner,
                    std::shared_ptr<RetainedExec>* exec);
  size_t size();
  // Closes every retained exec and cancels the linger timers: the server calls it after its
  // RPCs have ended and before the engine stops, since an engine handler still pending at the
  // stop (a retained exec's read, a 5-minute linger timer) would keep its operation and the
  // engine alive for good.
  void CloseAll();

 private:
  friend class RetainedExec;
  // Holds `exec` until it has started (Register) or failed (Unreserve): until then nothing else
  // does, since the session holds its listener weakly.
  grpc::Status Reserve(const std::shared_ptr<RetainedExec>& exec);
  void Unreserve(const RetainedExec* exec);
  void Register(const std::string& exec_id, const RetainedExec* exec);
  // The exec exited: it goes after the linger (or sooner when room is needed).
  void Exited(const std::string& exec_id, const engine::DockerApi& api);
  void Expire(const std::string& exec_id);

  const RetainOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<RetainedExec>> execs_;
  std::deque<std::string> exited_;  // in exit order
  std::map<std::string, std::shared_ptr<engine::Call>> linger_timers_;
  std::map<const RetainedExec*, std::shared_ptr<RetainedExec>> starting_;  // not yet with an id
};

}  // namespace dockline::server
