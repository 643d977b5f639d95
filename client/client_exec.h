#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/attachment.h"
#include "dockline/v1/dockline.pb.h"

// The exec_run() family of the client library; Client's Exec* members (client.h) use these.
namespace dockline::client {

// A command as docker-py's exec_run() takes it: a list is the argv as is, a string is split the
// way shlex.split() does ("sh -c 'echo hi; exit 3'" is three words). A string that cannot be
// split (an open quote) makes the call fail with INVALID_ARGUMENT.
class ExecCommand {
 public:
  ExecCommand(std::vector<std::string> argv);            // NOLINT(google-explicit-constructor)
  ExecCommand(std::initializer_list<std::string> argv);  // NOLINT(google-explicit-constructor)
  ExecCommand(const char* command_line);                 // NOLINT(google-explicit-constructor)
  ExecCommand(const std::string& command_line);          // NOLINT(google-explicit-constructor)

  const std::vector<std::string>& argv() const { return argv_; }
  const grpc::Status& status() const { return status_; }

 private:
  std::vector<std::string> argv_;
  grpc::Status status_;
};

// exec_run()'s keyword arguments.
struct ExecOptions {
  bool stdin = false;  // ExecAttach only: attach stdin (WriteStdin, CloseStdin)
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool tty = false;  // one raw stream (CRLF line ends), reported as stdout
  bool privileged = false;
  std::string user;              // "name", "uid", "uid:gid"
  std::vector<std::string> env;  // "KEY=value"
  std::string workdir;
  // ExecRun: stdout and stderr apart (ExecResult.stdout_bytes/stderr_bytes) instead of the
  // combined output. ExecStream always keeps them apart.
  bool demux = false;
  // ExecStream: each chunk as it arrives, on the calling thread.
  std::function<void(v1::Stream, std::string_view)> on_output;
  // ExecStream: also keep the output in ExecResult (turn off for unbounded output).
  bool collect_output = true;
  // Deadline of the whole call. Unset: none for ExecRun/ExecStream/ExecAttach (a command runs
  // as long as it does), the client's default for ExecStart. When it passes the server closes
  // the daemon connection, but the process keeps running: Docker cannot kill an exec.
  std::optional<std::chrono::nanoseconds> timeout;
  // ExecStream/ExecStart: the server keeps the output (StreamExecRequest.retain_output), so
  // ExecStream goes on where it was when its connection drops (UNAVAILABLE), and a detached
  // exec's output can be read later with ExecResume.
  bool retain_output = false;
  // ExecStream with retain_output, ExecResume: how long to keep trying to reattach after the
  // connection dropped (the server may be restarting, the network back soon).
  std::chrono::nanoseconds reattach_within = std::chrono::seconds(30);
};

struct ExecResult {
  std::string exec_id;
  int exit_code = -1;  // -1 until the exit arrives
  std::string output;  // both streams in arrival order (ExecRun without demux, ExecStream)
  std::string stdout_bytes;
  std::string stderr_bytes;
  bool truncated = false;  // ExecRun: the server's output cap cut the output
  // ExecStream/ExecResume of a retained exec: output bytes the server no longer had when the
  // client came back for them (its --exec-retain-size was passed while nobody read).
  uint64_t lost_bytes = 0;
  // The position after the last output byte received: ExecResume's offset to go on from.
  uint64_t offset = 0;
};

// An interactive exec (exec_run(stdin=True, socket=True)): stdin in, output and the exit code
// out; the thread rules are Attachment's.
class ExecAttachment : public StreamAttachment<v1::AttachExecRequest, v1::AttachExecResponse> {
 public:
  using StreamAttachment::StreamAttachment;
  ~ExecAttachment() override = default;

  const std::string& exec_id() const { return exec_id_; }

 protected:
  bool OnEvent(const v1::AttachExecResponse& response) override {
    if (response.event_case() != v1::AttachExecResponse::kExecId) {
      return false;
    }
    exec_id_ = response.exec_id();
    return true;
  }
  std::string MissingExitMessage() const override {
    return "the exec stream ended without the command's exit code";
  }

 private:
  std::string exec_id_;
};

}  // namespace dockline::client
