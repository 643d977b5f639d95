#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "dockline/v1/dockline.pb.h"
#include "engine/demux.h"
#include "engine/status.h"

// The exec family's codecs: ExecConfig -> the exec create body, the exec inspect document ->
// InspectExecResponse, the hijacked stream's bytes -> output pieces, and ExecContainer's capped
// capture. No engine calls here; the session (server/rpc/exec_session.h) makes them.

namespace dockline::server {

enum class ExecMode { kCaptured, kStreamed, kDetached, kAttached };

// What one exec asks of the daemon and what is relayed back.
struct ExecPlan {
  std::string container;
  nlohmann::json create_body;  // the POST /containers/{id}/exec body
  bool tty = false;
  bool stdin = false;
  bool detach = false;
  // Which streams the client asked for. The daemon is attached to stdout even when neither is
  // wanted, because an exec with no attached stream ends its start call at once (no EOF at
  // the exit to wait for); that output is read and dropped.
  bool deliver_stdout = true;
  bool deliver_stderr = true;
};

// Validates `config` for `mode` (INVALID_ARGUMENT with the field path on bad input) and fills
// `plan`.
grpc::Status PlanExec(const v1::ExecConfig& config, ExecMode mode, ExecPlan* plan);

// GET /exec/{id}/json -> InspectExecResponse. False when `j` is not an exec document.
bool ExecInspectFromJson(const nlohmann::json& j, v1::InspectExecResponse* out);

struct OutputPiece {
  engine::StreamKind kind = engine::StreamKind::kStdout;  // kStdout or kStderr only
  std::string_view data;
};

// The hijacked stream's bytes -> the pieces the client asked for. Non-TTY: Docker's
// multiplexed frames (a "systemerr" frame is relayed as stderr, or stdout when stderr is not
// wanted); TTY: one raw stream, reported as stdout. Not thread-safe: its owner feeds it from one
// read callback at a time.
class ExecOutputDecoder {
 public:
  ExecOutputDecoder(bool tty, bool deliver_stdout, bool deliver_stderr);
  // Appends views into `bytes` to `pieces`. A bad frame header is Code::kProtocolError.
  engine::Status Feed(std::string_view bytes, std::vector<OutputPiece>* pieces);
  // For the end of the output: Code::kDataLoss when a multiplexed stream ended inside a frame.
  engine::Status Finish() const { return tty_ ? engine::Status::Ok() : demux_.Finish(); }

 private:
  bool tty_;
  bool deliver_stdout_;
  bool deliver_stderr_;
  engine::FrameDemuxer demux_;
};

// ExecContainer's output with its per-stream cap. Not thread-safe: its owner calls it under
// its own lock.
class CapturedOutput {
 public:
  CapturedOutput(bool demux, size_t cap_per_stream) : demux_(demux), cap_(cap_per_stream) {}
  void Add(engine::StreamKind kind, std::string_view data);
  bool truncated() const { return truncated_; }
  // Fills output (or stdout and stderr when demuxed) and truncated.
  void MoveTo(v1::ExecContainerResponse* response);

 private:
  bool demux_;
  size_t cap_;
  size_t stdout_kept_ = 0;
  size_t stderr_kept_ = 0;
  bool truncated_ = false;
  std::string output_;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace dockline::server
