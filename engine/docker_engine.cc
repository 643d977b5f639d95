#include "engine/docker_engine.h"

#include <malloc.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "engine/url.h"

namespace dockline::engine {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Protocol = asio::local::stream_protocol;
using SocketStream = beast::basic_stream<Protocol>;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kFirstReadSize = 2 * 1024;
// How long Shutdown lets calls in flight finish before it stops the io threads.
constexpr std::chrono::milliseconds kShutdownGrace{2000};
// Unary replies at least this large are followed by malloc_trim (see OnUnaryRead).
constexpr size_t kTrimAfterBytes = 1 << 20;

std::string DockerMessage(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// Set by InlineReplyScope, taken by the first Unary call made inside it.
thread_local bool inline_reply_allowed = false;

}  // namespace

InlineReplyScope::InlineReplyScope() : outer_(inline_reply_allowed) { inline_reply_allowed = true; }

InlineReplyScope::~InlineReplyScope() { inline_reply_allowed = outer_; }

bool InlineReplyScope::Take() { return std::exchange(inline_reply_allowed, false); }

Status StatusFromHttp(int http_status, const std::string& body) {
  std::string message = DockerMessage(body);
  if (message.empty()) {
    message = "the Docker daemon answered HTTP " + std::to_string(http_status);
  }
  switch (http_status) {
    case 304:
      return Status(Code::kNotModified, message, http_status);
    case 400:
      if (message.find("is too old") != std::string::npos) {
        return Status(Code::kUnsupportedVersion, message, http_status);
      }
      return Status(Code::kBadRequest, message, http_status);
    case 404:
      return Status(Code::kNotFound, message, http_status);
    case 409:
      if (message.find("already in use") != std::string::npos) {
        return Status(Code::kNameConflict, message, http_status);
      }
      return Status(Code::kConflict, message, http_status);
    default:
      return Status(Code::kDaemonError, message, http_status);
  }
}

class DockerEngine::Impl : public std::enable_shared_from_this<DockerEngine::Impl> {
 public:
  explicit Impl(DockerEngineOptions options, std::string socket_path)
      : options_(std::move(options)),
        socket_path_(std::move(socket_path)),
        work_(asio::make_work_guard(ioc_)) {
    int n = std::max(1, options_.io_threads);
    running_ = n;
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        ioc_.run();
        std::lock_guard<std::mutex> lock(run_mu_);
        --running_;
        run_cv_.notify_all();
      });
    }
  }

  ~Impl() { Shutdown(); }

  void Shutdown() {
    std::call_once(shutdown_once_, [this] {
      {
        std::lock_guard<std::mutex> lock(pool_mu_);
        idle_.clear();
      }
      work_.reset();
      // A handler left in the io_context owns its operation, which owns this Impl: stopping
      // with one pending would keep both alive for good. Calls cancelled by their owners (the
      // server cancels every RPC before this) finish within moments, and run() returns once
      // nothing is left; what still runs after the grace is stopped as before.
      const bool on_io_thread = std::any_of(
          threads_.begin(), threads_.end(),
          [](const std::thread& t) { return t.get_id() == std::this_thread::get_id(); });
      if (!on_io_thread) {
        std::unique_lock<std::mutex> lock(run_mu_);
        run_cv_.wait_for(lock, kShutdownGrace, [this] { return running_ == 0; });
      }
      ioc_.stop();
      for (auto& t : threads_) {
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) {
          t.join();
        } else if (t.joinable()) {
          t.detach();
        }
      }
    });
  }

  // Hands out an idle keep-alive connection, or nullptr.
  std::unique_ptr<SocketStream> TakeIdle() {
    std::lock_guard<std::mutex> lock(pool_mu_);
    while (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      if (s->socket().is_open()) {
        return s;
      }
    }
    return nullptr;
  }

  void ReturnIdle(std::unique_ptr<SocketStream> s) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(std::move(s));
    }
  }

  std::string Target(const ApiRequest& req, const std::string& version) const {
    std::string target;
    if (req.versioned) {
      target = "/v" + version;
    }
    target += req.path;
    char sep = '?';
    for (const auto& [k, v] : req.query) {
      target += sep;
      target += UrlEncode(k);
      target += '=';
      target += UrlEncode(v);
      sep = '&';
    }
    return target;
  }

  std::string version() const {
    std::lock_guard<std::mutex> lock(version_mu_);
    return version_;
  }

  // Every /_ping (the first call's, and the health pinger's) negotiates afresh: a daemon
  // restarted at another version gets paths it speaks. One we can no longer speak clears the
  // version, so the next call pings again and fails with why.
  Status SetVersionFromPing(const std::string& header) {
    auto negotiated = NegotiateApiVersion(header);
    std::lock_guard<std::mutex> lock(version_mu_);
    if (!negotiated.ok()) {
      version_.clear();
      return negotiated.status();
    }
    version_ = negotiated.value();
    return Status::Ok();
  }

  // Every failed call is counted once: where its result is delivered (Unary, Stream) or where a
  // body read fails (HttpOp::DeliverError).
  void CountError(const Status& st) {
    if (st.ok() || st.code() == Code::kCancelled) {
      return;
    }
    std::lock_guard<std::mutex> lock(errors_mu_);
    ++errors_[st.code()];
  }

  std::map<Code, uint64_t> ErrorCounts() const {
    std::lock_guard<std::mutex> lock(errors_mu_);
    return errors_;
  }

  asio::io_context& ioc() { return ioc_; }
  const DockerEngineOptions& options() const { return options_; }
  const std::string& socket_path() const { return socket_path_; }

 private:
  DockerEngineOptions options_;
  std::string socket_path_;
  asio::io_context ioc_;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  int running_ = 0;  // io threads still in run()
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::once_flag shutdown_once_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<SocketStream>> idle_;

  mutable std::mutex version_mu_;
  std::string version_;

  mutable std::mutex errors_mu_;
  std::map<Code, uint64_t> errors_;
};

namespace {

// One request on one connection. Every step runs on the connection's strand; Cancel() posts
// there. The op keeps itself alive through the handlers it has outstanding.
class HttpOp : public BodyStream, public std::enable_shared_from_this<HttpOp> {
 public:
  enum class Mode { kUnary, kStream, kUpload };

  HttpOp(std::shared_ptr<DockerEngine::Impl> engine, ApiRequest request, Mode mode)
      : engine_(std::move(engine)), request_(std::move(request)), mode_(mode) {}

  void Start(Engine::UnaryCallback unary_cb, Engine::StreamCallback stream_cb,
             Engine::BodySource source = nullptr) {
    unary_cb_ = std::move(unary_cb);
    stream_cb_ = std::move(stream_cb);
    source_ = std::move(source);
    // Streams hold their connection for a long time: they never take one from the pool.
    if (mode_ == Mode::kUnary) {
      stream_ = engine_->TakeIdle();
    }
    from_pool_ = stream_ != nullptr;
    if (!stream_) {
      stream_ = std::make_unique<SocketStream>(asio::make_strand(engine_->ioc()));
    }
    executor_ = stream_->get_executor();
    if (InlineReplyScope::Take() && from_pool_ && mode_ == Mode::kUnary && !request_.upgrade &&
        engine_->options().inline_reply_budget.count() > 0 &&
        (!request_.versioned || !engine_->version().empty())) {
      return RunInline();
    }
    asio::dispatch(stream_->get_executor(), [self = shared_from_this()] { self->Begin(); });
  }

  void Cancel() override {
    // A finished unary call has nothing open; sparing the post spares an io thread a wake-up
    // (the server cancels every step it tracked once its RPC has finished).
    if (replied_ || cancelled_.exchange(true)) {
      return;
    }
    asio::post(executor_, [self = shared_from_this()] { self->CloseSocket(); });
  }

  void Write(std::string data, WriteCallback cb) override {
    asio::dispatch(executor_, [self = shared_from_this(), data = std::move(data),
                               cb = std::move(cb)]() mutable {
      if (!self->raw_ || self->write_closed_ || self->cancelled_) {
        return cb(Status(Code::kBadRequest, "stdin is closed or the connection is not hijacked"));
      }
      auto buffer = std::make_shared<std::string>(std::move(data));
      asio::async_write(self->stream_->socket(), asio::buffer(*buffer),
                        [self, buffer, cb = std::move(cb)](beast::error_code ec, size_t) {
                          cb(ec ? self->IoStatus(ec, "writing stdin") : Status::Ok());
                        });
    });
  }

  void CloseWrite(WriteCallback cb) override {
    asio::dispatch(executor_, [self = shared_from_this(), cb = std::move(cb)] {
      if (!self->raw_) {
        return cb(Status(Code::kBadRequest, "the connection is not hijacked"));
      }
      self->write_closed_ = true;
      beast::error_code ec;
      self->stream_->socket().shutdown(Protocol::socket::shutdown_send, ec);
      cb(ec ? self->IoStatus(ec, "closing stdin") : Status::Ok());
    });
  }

  void Read(ReadCallback cb) override {
    asio::dispatch(executor_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
      self->read_cb_ = std::move(cb);
      self->PumpBody();
    });
  }

 private:
  void Begin() {
    if (cancelled_) {
      return Fail(Status(Code::kCancelled, "cancelled"));
    }
    if (request_.versioned && engine_->version().empty()) {
      return Negotiate();
    }
    Connect();
  }

  // The first call after start-up (or after an unreachable daemon) learns the API version
  // on this connection before sending the real request.
  void Negotiate() {
    ping_ = std::make_unique<http::request<http::string_body>>(http::verb::get, "/_ping", 11);
    ping_->set(http::field::host, "localhost");
    ping_->prepare_payload();
    ConnectThen([self = shared_from_this()] {
      http::async_write(*self->stream_, *self->ping_,
                        [self](beast::error_code ec, size_t) { self->OnPingWritten(ec); });
    });
  }

  void OnPingWritten(beast::error_code ec) {
    if (ec) {
      return FailIo(ec, "sending /_ping");
    }
    ping_res_ = std::make_unique<http::response_parser<http::string_body>>();
    ping_res_->body_limit(1 << 20);
    http::async_read(*stream_, buffer_, *ping_res_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         return self->FailIo(ec, "reading /_ping");
                       }
                       auto& res = self->ping_res_->get();
                       std::string header(res["Api-Version"]);
                       Status st = self->engine_->SetVersionFromPing(header);
                       if (!st.ok()) {
                         return self->Fail(st);
                       }
                       self->connected_ = res.keep_alive();
                       if (!self->connected_) {
                         self->stream_->socket().close();
                       }
                       self->Connect();
                     });
  }

  void ConnectThen(std::function<void()> next) {
    if (connected_ || from_pool_) {
      connected_ = true;
      return next();
    }
    if (request_.timeout.count() == 0) {
      stream_->expires_after(engine_->options().connect_timeout);
    } else {
      stream_->expires_after(request_.timeout);
    }
    stream_->async_connect(
        Protocol::endpoint(engine_->socket_path()),
        [self = shared_from_this(), next = std::move(next)](beast::error_code ec) {
          if (ec) {
            return self->FailIo(ec, "connecting");
          }
          self->connected_ = true;
          if (self->request_.timeout.count() == 0) {
            self->stream_->expires_never();
          }
          next();
        });
  }

  void Connect() {
    ConnectThen([self = shared_from_this()] { self->Write(); });
  }

  void Write() {
    if (cancelled_) {
      return Fail(Status(Code::kCancelled, "cancelled"));
    }
    BuildRequest();
    if (request_.timeout.count() > 0) {
      stream_->expires_after(request_.timeout);
    } else {
      stream_->expires_never();
    }
    if (mode_ == Mode::kUpload) {
      return WriteUploadHeader();
    }
    http::async_write(*stream_, *req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnWritten(ec);
    });
  }

  void BuildRequest() {
    http::verb verb = http::string_to_verb(request_.method);
    req_ = std::make_unique<http::request<http::string_body>>(
        verb, engine_->Target(request_, engine_->version()), 11);
    req_->set(http::field::host, "localhost");
    req_->set(http::field::user_agent, "dockline/" DOCKLINE_VERSION);
    for (const auto& [name, value] : request_.headers) {
      req_->set(name, value);
    }
    if (mode_ == Mode::kUpload) {
      if (!request_.content_type.empty()) {
        req_->set(http::field::content_type, request_.content_type);
      }
      // The body's length is unknown until its source ends: chunked, and no prepare_payload
      // (which would make it Content-Length: 0).
      req_->keep_alive(true);
      req_->chunked(true);
      return;
    }
    if (!request_.body.empty() || request_.json_body) {
      req_->set(http::field::content_type, "application/json");
      req_->body() = request_.body.empty() ? "{}" : request_.body;
    }
    if (request_.upgrade) {
      req_->set(http::field::connection, "Upgrade");
      req_->set(http::field::upgrade, "tcp");
    } else {
      req_->keep_alive(true);
    }
    req_->prepare_payload();
  }

  // The request written and its reply read on the calling thread, on a pooled connection
  // (no connect to wait for) with the API version known. The reply usually comes within the
  // budget and the callback runs here; anything else (a slow reply, a stale pooled connection,
  // an error) continues on the strand exactly where the asynchronous path would be. Nothing
  // else can reach this op until Start returns, so the socket is this thread's meanwhile.
  void RunInline() {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + engine_->options().inline_reply_budget;
    auto& socket = stream_->socket();
    BuildRequest();
    beast::error_code ec;
    http::write(socket, *req_, ec);
    if (ec) {
      return asio::post(executor_, [self = shared_from_this(), ec] {
        self->RetryOrFail(ec, "sending the request");
      });
    }
    NewUnaryParser();
    socket.non_blocking(true, ec);
    size_t bytes = 0;
    bool in_time = !ec;
    while (in_time) {
      bytes += http::read_some(socket, buffer_, *unary_parser_, ec);
      if (ec == asio::error::would_block) {
        const auto left =
            std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
        in_time = left.count() > 0 && WaitReadable(socket.native_handle(), left);
        continue;
      }
      if (ec || unary_parser_->is_done()) {
        break;
      }
      in_time = Clock::now() < deadline;  // a long reply goes on on the strand
    }
    beast::error_code ignored;
    socket.non_blocking(false, ignored);
    if (in_time && !ec && unary_parser_->is_done() && !OverCap()) {
      return OnUnaryRead(ec, bytes);
    }
    asio::post(executor_, [self = shared_from_this(), ec, bytes, in_time] {
      if (self->request_.timeout.count() > 0) {
        self->stream_->expires_after(self->request_.timeout);
      }
      if (in_time && ec) {
        return self->OnUnaryRead(ec, bytes);
      }
      if (self->unary_parser_->is_header_done()) {
        return self->OnUnaryHeader({}, bytes);
      }
      self->ReadUnaryHeader(bytes);
    });
  }

  // Whether `fd` turned readable within `wait`; false on a timeout or an error (the caller
  // then goes on asynchronously, which reports the error if it persists).
  static bool WaitReadable(int fd, std::chrono::microseconds wait) {
    pollfd p{fd, POLLIN, 0};
    timespec ts{static_cast<time_t>(wait.count() / 1000000),
                static_cast<long>((wait.count() % 1000000) * 1000)};
    int n = 0;
    do {
      n = ::ppoll(&p, 1, &ts, nullptr);
    } while (n < 0 && errno == EINTR);
    return n > 0;
  }

  void NewUnaryParser() {
    unary_parser_.emplace();
    unary_parser_->body_limit(engine_->options().max_reply_bytes);
  }

  void ReadUnaryHeader(size_t bytes) {
    http::async_read_header(*stream_, buffer_, *unary_parser_,
                            [self = shared_from_this(), bytes](beast::error_code ec, size_t n) {
                              self->OnUnaryHeader(ec, bytes + n);
                            });
  }

  // A Content-Length over the cap, known once the header is in.
  bool OverCap() {
    if (!unary_parser_->is_header_done()) {
      return false;
    }
    const auto length = unary_parser_->content_length();
    return length && *length > engine_->options().max_reply_bytes;
  }

  void OnWritten(beast::error_code ec) {
    if (ec) {
      return RetryOrFail(ec, "sending the request");
    }
    if (mode_ == Mode::kUnary) {
      NewUnaryParser();
      // Beast 1.74 ignores body_limit for a Content-Length body once the parser is eager (as
      // async_read makes it), so the header comes first and its length is checked here; a
      // chunked body is held to body_limit by Beast itself.
      ReadUnaryHeader(0);
    } else {
      parser_.emplace();
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      http::async_read_header(
          *stream_, buffer_, *parser_,
          [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnHeader(ec, n); });
    }
  }

  // An upload reads its reply while it writes its body: the daemon answers a missing container
  // or path before reading any of it, and waiting for the body to be written first would wait
  // on a daemon that no longer reads. One read and one write outstanding at once, both on the
  // strand.
  void WriteUploadHeader() {
    upload_serializer_.emplace(*req_);
    http::async_write_header(*stream_, *upload_serializer_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) {
                                 return self->FailIo(ec, "sending the request");
                               }
                               self->NewUnaryParser();
                               self->ReadUnaryHeader(0);
                               self->PullPiece();
                             });
  }

  // Strand. Asks the source for the next piece, unless the call is over (replied or failed).
  void PullPiece() {
    if (!unary_cb_ || !source_ || cancelled_) {
      return;
    }
    source_([self = shared_from_this()](const Status& st, std::string data, bool eof) {
      asio::dispatch(self->executor_, [self, st, data = std::move(data), eof]() mutable {
        self->OnPiece(st, std::move(data), eof);
      });
    });
  }

  void OnPiece(const Status& st, std::string data, bool eof) {
    if (!unary_cb_ || cancelled_) {
      return;  // the daemon answered early, or the call failed: nobody wants the piece
    }
    if (!st.ok()) {
      return Fail(st);
    }
    auto written = [self = shared_from_this(), eof](beast::error_code ec, size_t) {
      // A write that fails because the daemon answered and closed leaves that answer to the
      // reply read in flight, which delivers it (or the connection's failure).
      if (!ec && !eof) {
        self->PullPiece();
      }
    };
    if (eof) {
      source_ = nullptr;
      return asio::async_write(*stream_, http::make_chunk_last(), std::move(written));
    }
    if (data.empty()) {
      return PullPiece();
    }
    auto piece = std::make_shared<std::string>(std::move(data));
    asio::async_write(
        *stream_, http::make_chunk(asio::buffer(*piece)),
        [piece, written = std::move(written)](beast::error_code ec, size_t n) { written(ec, n); });
  }

  // A pooled keep-alive connection may have been closed by the daemon while idle; that shows
  // as an error before any byte of the reply, and the request is sent again on a fresh one.
  void RetryOrFail(beast::error_code ec, const char* what) {
    if (from_pool_ && !cancelled_ && buffer_.size() == 0) {
      from_pool_ = false;
      connected_ = false;
      beast::error_code ignored;
      stream_->socket().close(ignored);
      auto fresh = std::make_unique<SocketStream>(executor_);
      stream_ = std::move(fresh);
      return Connect();
    }
    FailIo(ec, what);
  }

  void OnUnaryHeader(beast::error_code ec, size_t bytes) {
    // content_length() is only defined once the header is complete (Beast asserts it), so it
    // is asked only when reading the header succeeded.
    if (!ec && OverCap()) {
      return FailOverCap();
    }
    if (ec || unary_parser_->is_done()) {  // OnUnaryRead maps body_limit to the cap, too
      return OnUnaryRead(ec, bytes);
    }
    http::async_read(*stream_, buffer_, *unary_parser_,
                     [self = shared_from_this(), bytes](beast::error_code ec, size_t n) {
                       self->OnUnaryRead(ec, bytes + n);
                     });
  }

  void FailOverCap() {
    Fail(Status(Code::kExhausted, "the daemon's reply to " + request_.method + " " + request_.path +
                                      " is over the " +
                                      std::to_string(engine_->options().max_reply_bytes) +
                                      "-byte cap on reply bodies (docklined --max-reply-size)"));
  }

  void OnUnaryRead(beast::error_code ec, size_t bytes) {
    if (ec == http::error::body_limit) {
      return FailOverCap();
    }
    if (ec) {
      if (bytes == 0) {
        return RetryOrFail(ec, "reading the reply");
      }
      return FailIo(ec, "reading the reply");
    }
    auto& res = unary_parser_->get();
    ApiResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string key(field.name_string());
      std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      out.headers[key] = std::string(field.value());
    }
    out.body = std::move(res.body());
    source_ = nullptr;
    // An upload's connection may hold an unread reply or a half-written body: never reused.
    if (mode_ == Mode::kUnary && res.keep_alive() && !cancelled_ && buffer_.size() == 0) {
      stream_->expires_never();
      engine_->ReturnIdle(std::move(stream_));
    } else {
      CloseSocket();
    }
    // The op outlives its reply wherever a caller keeps it to cancel (a log stream holds its
    // first inspect for its whole life): what it read with goes now, not with the op.
    unary_parser_.reset();
    req_.reset();
    buffer_ = beast::flat_buffer();
    auto cb = std::move(unary_cb_);
    replied_ = true;
    if (!cb) {
      return;
    }
    const bool large = out.body.size() >= kTrimAfterBytes;
    if (out.status >= 200 && out.status < 300) {
      cb(Result<ApiResponse>(std::move(out)));
    } else {
      Status st = StatusFromHttp(out.status, out.body);
      cb(Result<ApiResponse>(st, std::move(out)));
    }
    if (large) {
      // The body and the JSON parsed from it are freed by now, but glibc keeps freed memory in
      // its per-thread arenas: without a trim one large listing raises RSS for good.
      malloc_trim(0);
    }
  }

  void OnHeader(beast::error_code ec, size_t bytes) {
    if (ec) {
      if (bytes == 0) {
        return RetryOrFail(ec, "reading the reply header");
      }
      return FailIo(ec, "reading the reply header");
    }
    auto& res = parser_->get();
    header_.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string key(field.name_string());
      std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      header_.headers[key] = std::string(field.value());
    }
    raw_ = header_.status == 101;
    if ((header_.status >= 200 && header_.status < 300) || raw_) {
      auto cb = std::move(stream_cb_);
      cb(Result<ApiResponse>(header_), shared_from_this());
      return;
    }
    // An error reply: read its (small) body whole to report Docker's message.
    error_body_.clear();
    read_cb_ = [self = shared_from_this()](const Status& st, std::string_view data, bool eof) {
      if (!st.ok()) {
        return self->Fail(st);
      }
      self->error_body_.append(data);
      if (eof) {
        Status err = StatusFromHttp(self->header_.status, self->error_body_);
        ApiResponse res = self->header_;
        res.body = self->error_body_;
        self->CloseSocket();
        auto cb = std::move(self->stream_cb_);
        if (cb) {
          cb(Result<ApiResponse>(err, std::move(res)), nullptr);
        }
        return;
      }
      if (self->error_body_.size() > (1 << 20)) {
        return self->Fail(Status(Code::kProtocolError, "oversized error reply from the daemon"));
      }
      self->PumpBody();
    };
    PumpBody();
  }

  // Delivers everything that is available now: bytes already buffered are parsed without
  // touching the socket, so one delivery spans many chunks (dockerd sends one per log line).
  void PumpBody() {
    if (!read_cb_) {
      return;
    }
    if (cancelled_) {
      return DeliverError(Status(Code::kCancelled, "cancelled"));
    }
    std::string out;
    bool eof = false;
    if (raw_) {
      if (buffer_.size() > 0) {
        out.assign(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        buffer_.consume(buffer_.size());
      }
    } else {
      while (buffer_.size() > 0 && out.size() < kReadChunk && !parser_->is_done()) {
        char tmp[kReadChunk];
        size_t room = std::min(sizeof(tmp), kReadChunk - out.size());
        parser_->get().body().data = tmp;
        parser_->get().body().size = room;
        beast::error_code ec;
        size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        size_t produced = room - parser_->get().body().size;
        out.append(tmp, produced);
        if (ec == http::error::need_buffer) {
          ec = {};
        }
        if (ec == http::error::need_more) {
          break;
        }
        if (ec) {
          return DeliverError(Status(Code::kProtocolError,
                                     "malformed reply body from the daemon: " + ec.message()));
        }
        if (used == 0 && produced == 0) {
          break;
        }
      }
      eof = parser_->is_done();
    }
    if (!out.empty() || eof) {
      auto cb = std::move(read_cb_);
      read_cb_ = nullptr;
      if (eof) {
        CloseSocket();
      }
      cb(Status::Ok(), out, eof);
      return;
    }
    // A follow may sit idle for hours holding its buffer: reads start small and grow only while
    // they come back full, so thousands of quiet streams stay cheap and a busy one still reads
    // kReadChunk at a time.
    stream_->async_read_some(
        buffer_.prepare(read_size_), [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->buffer_.commit(n);
          if (n == self->read_size_ && self->read_size_ < kReadChunk) {
            self->read_size_ *= 2;
          }
          // CloseSocket shuts down before it closes, so a read another thread's reactor
          // completes in between sees EOF rather than an abort: a cancel must win over it.
          if (self->cancelled_) {
            return self->DeliverError(Status(Code::kCancelled, "cancelled"));
          }
          if (ec == asio::error::eof || (ec && self->raw_ && n == 0 && !self->cancelled_ &&
                                         ec == asio::error::connection_reset)) {
            return self->OnSocketEof();
          }
          if (ec) {
            return self->DeliverError(self->IoStatus(ec, "reading the reply body"));
          }
          self->PumpBody();
        });
  }

  void OnSocketEof() {
    if (!read_cb_) {
      return;
    }
    if (raw_) {
      auto cb = std::move(read_cb_);
      read_cb_ = nullptr;
      CloseSocket();
      return cb(Status::Ok(), {}, true);
    }
    // A body that ends by closing the connection (no length, no chunking) is complete at EOF.
    parser_->put_eof(ec_scratch_);
    if (!ec_scratch_ && parser_->is_done()) {
      auto cb = std::move(read_cb_);
      read_cb_ = nullptr;
      CloseSocket();
      return cb(Status::Ok(), {}, true);
    }
    DeliverError(Status(Code::kUnreachable, "the Docker daemon closed the connection mid-reply"));
  }

  void DeliverError(const Status& st) {
    CloseSocket();
    if (auto cb = std::move(read_cb_)) {
      read_cb_ = nullptr;
      engine_->CountError(st);
      cb(st, {}, false);
    }
  }

  Status IoStatus(beast::error_code ec, const char* what) {
    if (cancelled_) {
      return Status(Code::kCancelled, "cancelled");
    }
    if (ec == beast::error::timeout) {
      return Status(Code::kTimeout, std::string("timed out ") + what);
    }
    // Not the daemon's fault: saying it cannot be reached would send users the wrong way.
    if (ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system) {
      return Status(Code::kExhausted, std::string("docklined is out of open files (") + what +
                                          "): too many calls at once; raise its open-files "
                                          "limit (LimitNOFILE=)");
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return Status(Code::kProtocolError,
                    std::string("the Docker daemon's reply is not valid HTTP (") + what +
                        "): " + ec.message());
    }
    return Status(Code::kUnreachable, "cannot reach the Docker daemon at " +
                                          engine_->socket_path() + " (" + what +
                                          "): " + ec.message());
  }

  void FailIo(beast::error_code ec, const char* what) { Fail(IoStatus(ec, what)); }

  void Fail(const Status& st) {
    CloseSocket();
    source_ = nullptr;  // it holds its owner, which holds this op
    if (auto cb = std::move(unary_cb_)) {
      unary_cb_ = nullptr;
      cb(Result<ApiResponse>(st));
    }
    if (auto cb = std::move(stream_cb_)) {
      stream_cb_ = nullptr;
      cb(Result<ApiResponse>(st), nullptr);
    }
    if (read_cb_) {
      DeliverError(st);
    }
  }

  void CloseSocket() {
    if (!stream_) {
      return;
    }
    beast::error_code ignored;
    stream_->socket().shutdown(Protocol::socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
  }

  std::shared_ptr<DockerEngine::Impl> engine_;
  ApiRequest request_;
  Mode mode_;
  std::unique_ptr<SocketStream> stream_;
  asio::any_io_executor executor_;
  bool from_pool_ = false;
  bool connected_ = false;
  bool raw_ = false;
  bool write_closed_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> replied_{false};  // a unary reply was delivered
  beast::flat_buffer buffer_;
  size_t read_size_ = kFirstReadSize;
  beast::error_code ec_scratch_;
  std::unique_ptr<http::request<http::string_body>> ping_;
  std::unique_ptr<http::response_parser<http::string_body>> ping_res_;
  std::unique_ptr<http::request<http::string_body>> req_;
  std::optional<http::request_serializer<http::string_body>> upload_serializer_;
  Engine::BodySource source_;  // an upload's, until its last piece or its end
  std::optional<http::response_parser<http::string_body>> unary_parser_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  ApiResponse header_;
  std::string error_body_;
  Engine::UnaryCallback unary_cb_;
  Engine::StreamCallback stream_cb_;
  ReadCallback read_cb_;
};

class TimerCall : public Call, public std::enable_shared_from_this<TimerCall> {
 public:
  explicit TimerCall(asio::io_context& ioc) : timer_(asio::make_strand(ioc)) {}

  void Start(std::chrono::milliseconds delay, std::function<void(bool)> fn) {
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), fn = std::move(fn)](beast::error_code ec) {
      fn(ec == asio::error::operation_aborted);
    });
  }

  void Cancel() override {
    asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace

Result<std::shared_ptr<DockerEngine>> DockerEngine::Create(const DockerEngineOptions& options) {
  std::string host = options.docker_host;
  std::string path;
  if (host.rfind("unix://", 0) == 0) {
    path = host.substr(7);
  } else if (!host.empty() && host[0] == '/') {
    path = host;
  } else {
    return Status(Code::kBadRequest, "docker host \"" + host +
                                         "\": only unix:// sockets are supported (the Docker "
                                         "socket is root on the host; keep it local)");
  }
  if (path.empty() || path.size() > 107) {
    return Status(Code::kBadRequest, "docker host \"" + host + "\": bad Unix socket path");
  }
  auto impl = std::make_shared<Impl>(options, path);
  return std::shared_ptr<DockerEngine>(new DockerEngine(std::move(impl)));
}

DockerEngine::DockerEngine(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DockerEngine::~DockerEngine() { impl_->Shutdown(); }

void DockerEngine::Shutdown() { impl_->Shutdown(); }

// The op reaches its callback on several paths (reply, HTTP error, I/O failure, cancel); the
// result is counted here, once, whichever it took. The op owns the callback and holds the Impl,
// so the raw pointer cannot outlive it.
std::shared_ptr<Call> DockerEngine::Unary(ApiRequest request, UnaryCallback cb) {
  auto op = std::make_shared<HttpOp>(impl_, std::move(request), HttpOp::Mode::kUnary);
  op->Start(
      [impl = impl_.get(), cb = std::move(cb)](Result<ApiResponse> res) {
        impl->CountError(res.status());
        cb(std::move(res));
      },
      nullptr);
  return op;
}

std::shared_ptr<Call> DockerEngine::Stream(ApiRequest request, StreamCallback cb) {
  auto op = std::make_shared<HttpOp>(impl_, std::move(request), HttpOp::Mode::kStream);
  op->Start(nullptr, [impl = impl_.get(), cb = std::move(cb)](Result<ApiResponse> res,
                                                              std::shared_ptr<BodyStream> body) {
    impl->CountError(res.status());
    cb(std::move(res), std::move(body));
  });
  return op;
}

std::shared_ptr<Call> DockerEngine::Upload(ApiRequest request, BodySource source,
                                           UnaryCallback cb) {
  auto op = std::make_shared<HttpOp>(impl_, std::move(request), HttpOp::Mode::kUpload);
  op->Start(
      [impl = impl_.get(), cb = std::move(cb)](Result<ApiResponse> res) {
        impl->CountError(res.status());
        cb(std::move(res));
      },
      nullptr, std::move(source));
  return op;
}

std::map<Code, uint64_t> DockerEngine::ErrorCounts() const { return impl_->ErrorCounts(); }

std::string DockerEngine::ApiVersion() const { return impl_->version(); }

const std::string& DockerEngine::socket_path() const { return impl_->socket_path(); }

std::shared_ptr<Call> DockerEngine::Schedule(std::chrono::milliseconds delay,
                                             std::function<void(bool)> fn) {
  auto timer = std::make_shared<TimerCall>(impl_->ioc());
  timer->Start(delay, std::move(fn));
  return timer;
}

void DockerEngine::Ping(std::function<void(Status)> cb) {
  ApiRequest req;
  req.path = "/_ping";
  req.versioned = false;
  req.timeout = std::chrono::milliseconds(5000);
  auto impl = impl_;
  Unary(std::move(req), [impl, cb = std::move(cb)](Result<ApiResponse> res) {
    if (!res.ok()) {
      return cb(res.status());
    }
    auto it = res->headers.find("api-version");
    cb(impl->SetVersionFromPing(it == res->headers.end() ? "" : it->second));
  });
}

}  // namespace dockline::engine
