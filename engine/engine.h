#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace dockline::engine {

// One Engine API request. `path` has no version prefix ("/containers/abc/start"); the engine adds
// the negotiated "/v1.xx". Query values are escaped by the engine.
struct ApiRequest {
  ApiRequest() = default;
  ApiRequest(std::string m, std::string p) : method(std::move(m)), path(std::move(p)) {}

  std::string method = "GET";  // GET, POST, DELETE, HEAD, PUT
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;  // sent as application/json when non-empty (or when json_body is set)
  // The Content-Type of an Upload's body; empty: none.
  std::string content_type;
  // Extra header fields (X-Registry-Auth). Never logged: they may carry credentials.
  std::vector<std::pair<std::string, std::string>> headers;
  bool json_body = false;
  bool versioned = true;  // false for /_ping and other unversioned paths
  bool upgrade = false;
  // Ask the daemon to hijack the connection (exec start, attach): "Connection: Upgrade" and
  // "Upgrade: tcp". A 101 reply turns the body into the raw stream, readable until EOF and
  // writable with BodyStream::Write.
  // Whole-call deadline; zero means none (waits and follow streams have none).
  std::chrono::milliseconds timeout{0};

  ApiRequest& Query(std::string key, std::string value) {
    query.emplace_back(std::move(key), std::move(value));
    return *this;
  }
};

struct ApiResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;
};

// A handle on an operation in flight. Cancel() may be called from any thread, any number of
// times; it closes the daemon connection at once and the operation's callback (if it has not
// run yet) receives Code::kCancelled.
class Call {
 public:
  virtual ~Call() = default;
  virtual void Cancel() = 0;
};

// The body of a streaming response (logs follow, wait, events). Pull-based so that a slow
// consumer stops reading from the daemon: nothing is read until Read() is called.
class BodyStream : public Call {
 public:
  // Delivers the next piece of body bytes (never empty unless `eof`), or the end of the body
  // (`eof` true), or an error status. Exactly one Read may be outstanding; the callback runs on
  // an engine thread and must not block.
  using ReadCallback = std::function<void(const Status& status, std::string_view data, bool eof)>;
  virtual void Read(ReadCallback cb) = 0;

  // On a hijacked connection (a 101 reply): sends raw bytes to the process's stdin. One write
  // may be outstanding; `cb` runs on an engine thread. Elsewhere it fails with kBadRequest.
  using WriteCallback = std::function<void(const Status& status)>;
  virtual void Write(std::string data, WriteCallback cb) = 0;
  // Half-closes the hijacked connection (call it once the last Write has completed): the
  // process sees EOF on stdin while its output can still be read.
  virtual void CloseWrite(WriteCallback cb) = 0;
};

// Lets the next Unary call that this thread makes inside the scope complete before Unary
// returns, its callback running on this thread, when the daemon answers within the engine's
// inline budget; otherwise the call goes on on an engine thread as usual. A caller opts in only
// where running the callback on its own thread is safe (no lock held, nothing after the call
// that the callback must not precede): the server's one-call unary RPCs, which can then finish
// on gRPC's own thread instead of handing the reply across threads twice. One call per scope:
// calls that the callback makes in turn run as usual.
class InlineReplyScope {
 public:
  InlineReplyScope();
  ~InlineReplyScope();
  InlineReplyScope(const InlineReplyScope&) = delete;
  InlineReplyScope& operator=(const InlineReplyScope&) = delete;

  // True once per scope, for the engine deciding whether the call it starts may run inline.
  static bool Take();

 private:
  bool outer_;
};

// The Engine API as the server sees it. The Docker implementation talks HTTP/1.1 over a Unix
// socket; tests may substitute their own. Callbacks run on engine threads (see InlineReplyScope),
// exactly once each, and must not block.
class Engine {
 public:
  using UnaryCallback = std::function<void(Result<ApiResponse>)>;
  // On a 2xx status the stream is open and `response.body` is empty; on any other status the
  // error body has been read whole and the status is not ok.
  using StreamCallback =
      std::function<void(Result<ApiResponse> response, std::shared_ptr<BodyStream> body)>;

  virtual ~Engine() = default;

  // A request whose response body is read whole. Non-2xx statuses come back as a failed Result
  // carrying Docker's message; 304 as Code::kNotModified with the response. Inside an
  // InlineReplyScope the callback may run before this returns, on the calling thread.
  virtual std::shared_ptr<Call> Unary(ApiRequest request, UnaryCallback cb) = 0;

  // A request whose body is handed out piece by piece (chunked encoding already removed).
  virtual std::shared_ptr<Call> Stream(ApiRequest request, StreamCallback cb) = 0;

  // Answers an upload's request for the next piece of its body, once, from any thread: bytes
  // (not empty), or the end (`eof`), or a failure that abandons the call (the daemon then sees
  // its connection closed mid-body and discards what it got).
  using BodyPiece = std::function<void(const Status& status, std::string data, bool eof)>;
  // Asked for the next piece only once the previous one has been written to the daemon, so an
  // upload holds one piece at a time whatever its size.
  using BodySource = std::function<void(BodyPiece next)>;
  // A request whose body the caller produces piece by piece (sent with chunked encoding); the
  // reply is read whole as Unary's. The daemon may answer before the body is complete (an
  // unknown container): that reply is delivered, the source is asked for nothing more, and the
  // connection is closed. No pooled connection is used or returned.
  virtual std::shared_ptr<Call> Upload(ApiRequest request, BodySource source, UnaryCallback cb) = 0;

  // The negotiated API version ("1.41"); empty until negotiation succeeded.
  virtual std::string ApiVersion() const = 0;

  // Runs `fn` after `delay` on an engine thread; `fn(true)` when cancelled first.
  virtual std::shared_ptr<Call> Schedule(std::chrono::milliseconds delay,
                                         std::function<void(bool cancelled)> fn) = 0;
};

}  // namespace dockline::engine
