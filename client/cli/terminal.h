#pragma once

#include <grpcpp/support/status.h>

#include <functional>
#include <ostream>

#include "client/attachment.h"

// The interactive side of the CLI, shared by `exec -i/-t`, `attach` and `run -i/-t`: the
// terminal in raw mode, stdin forwarded, window size changes sent as resizes, signals.

namespace dockline::cli {

struct RelayOptions {
  // Forward stdin until EOF, then close the process's stdin.
  bool forward_stdin = false;
  // The process has a TTY: its terminal size goes first and on every SIGWINCH, and with
  // forward_stdin the local terminal is in raw mode (restored on every way out), so keys go to
  // the process's TTY as typed.
  bool tty = false;
  // SIGINT, SIGTERM and SIGHUP: given to this when set (docker's --sig-proxy; true when it was
  // delivered), otherwise, or when it fails, they cancel the stream.
  std::function<bool(int signal_number)> proxy_signal;
};

struct RelayOutcome {
  grpc::Status status;  // Finish()'s
  int interrupted = 0;  // the signal that cancelled the stream, 0 if none
};

// Relays `attachment` to its end: output to `out`/`err` as it comes, stdin and resizes from a
// control thread that polls (so it never sits in a read that outlives the stream).
RelayOutcome RelayAttachment(client::Attachment& attachment, const RelayOptions& options,
                             std::ostream& out, std::ostream& err);

}  // namespace dockline::cli
