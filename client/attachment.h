#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

namespace dockline::client {

// An interactive stream (an exec's or a container's): stdin in, output and the exit code out.
// Thread rules: WriteStdin, CloseStdin and Resize may be called from any threads at once (they
// share one lock); Next is for one reading thread; Cancel from anywhere. Call Finish once Next
// has returned false.
class Attachment {
 public:
  virtual ~Attachment() = default;

  // False once the stream is broken or the process is over.
  virtual bool WriteStdin(std::string_view data) = 0;
  // The process sees EOF on stdin; its output keeps coming.
  virtual bool CloseStdin() = 0;
  // Only a TTY uses it; the server holds it until the process runs.
  virtual bool Resize(uint32_t rows, uint32_t columns) = 0;
  // Blocks for the next output chunk; false at the end of the stream.
  virtual bool Next(v1::OutputChunk* chunk) = 0;
  // The exit code, once Next has returned false after it arrived.
  virtual std::optional<int> exit_code() const = 0;
  virtual grpc::Status Finish() = 0;
  // Ends the call (and closes the daemon connection; the process keeps running).
  virtual void Cancel() = 0;
};

// The one implementation over the two bidi RPCs, whose messages share their shape: requests
// {config, stdin, close_stdin, resize}, responses {<start event>, output, exited, ...}. The
// derived class reads the events that are its own (OnEvent) and says whether a stream that ended
// without an exit code ended well (EndedWell).
template <typename Request, typename Response>
class StreamAttachment : public Attachment {
 public:
  using Stream = grpc::ClientReaderWriterInterface<Request, Response>;

  StreamAttachment(std::unique_ptr<grpc::ClientContext> context, std::unique_ptr<Stream> stream)
      : context_(std::move(context)), stream_(std::move(stream)) {}
  ~StreamAttachment() override {
    if (!finished_) {
      // Abandoned mid-stream: end the call rather than leave it (and the daemon connection)
      // open.
      context_->TryCancel();
      // Not through Next: OnEvent belongs to the derived class, which is gone by now.
      Response ignored;
      while (!read_ended_ && stream_->Read(&ignored)) {
      }
      stream_->Finish();
    }
  }
  StreamAttachment(const StreamAttachment&) = delete;
  StreamAttachment& operator=(const StreamAttachment&) = delete;

  // Sends the first request, the config.
  bool WriteConfig(const Request& config) { return Send(config); }
  // Reads up to the start event (OnEvent returns true): false (and Finish() says why) if the
  // stream ended first.
  bool AwaitStart() {
    Response response;
    while (!read_ended_ && stream_->Read(&response)) {
      if (OnEvent(response)) {
        return true;
      }
    }
    read_ended_ = true;
    return false;
  }

  bool WriteStdin(std::string_view data) override {
    Request request;
    request.set_stdin(std::string(data));
    return Send(request);
  }
  bool CloseStdin() override {
    Request request;
    request.set_close_stdin(true);
    return Send(request);
  }
  bool Resize(uint32_t rows, uint32_t columns) override {
    Request request;
    request.mutable_resize()->set_rows(rows);
    request.mutable_resize()->set_columns(columns);
    return Send(request);
  }

  bool Next(v1::OutputChunk* chunk) override {
    Response response;
    while (!read_ended_ && stream_->Read(&response)) {
      if (response.has_output()) {
        *chunk = std::move(*response.mutable_output());
        return true;
      }
      if (response.has_exited()) {
        exit_code_ = static_cast<int>(response.exited().exit_code());
      }
      OnEvent(response);
    }
    read_ended_ = true;
    return false;
  }

  std::optional<int> exit_code() const override { return exit_code_; }

  grpc::Status Finish() override {
    if (finished_) {
      return status_;
    }
    {
      // No more requests: lets the server see the half-close, and stops other threads' writes
      // from racing Finish.
      std::lock_guard<std::mutex> lock(write_mu_);
      if (!writes_done_) {
        writes_done_ = true;
        stream_->WritesDone();
      }
    }
    Drain();
    status_ = stream_->Finish();
    finished_ = true;
    if (status_.ok() && !exit_code_ && !EndedWell()) {
      status_ = grpc::Status(grpc::StatusCode::INTERNAL, MissingExitMessage());
    }
    return status_;
  }

  void Cancel() override { context_->TryCancel(); }

 protected:
  // A message other than output; true when it is the one AwaitStart waits for.
  virtual bool OnEvent(const Response& response) = 0;
  // Whether the stream may end OK without an exit code.
  virtual bool EndedWell() const { return false; }
  virtual std::string MissingExitMessage() const = 0;

 private:
  bool Send(const Request& request) {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (writes_done_) {
      return false;
    }
    return stream_->Write(request);
  }
  void Drain() {
    v1::OutputChunk ignored;
    while (Next(&ignored)) {
    }
  }

  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Stream> stream_;
  std::mutex write_mu_;
  bool writes_done_ = false;
  std::optional<int> exit_code_;
  bool read_ended_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

// Sends `first` (the config) on a new attachment and reads up to its start event: the
// attachment, or the status that ended the call first (`what` names it when that was OK).
template <typename A, typename Request>
Result<std::unique_ptr<A>> OpenAttachment(std::unique_ptr<A> attachment, const Request& first,
                                          const char* what) {
  Result<std::unique_ptr<A>> result;
  // A failed write means the call is already over; AwaitStart then reports the status.
  if (!attachment->WriteConfig(first) || !attachment->AwaitStart()) {
    result.status = attachment->Finish();
    if (result.status.ok()) {
      result.status = grpc::Status(grpc::StatusCode::INTERNAL, what);
    }
    return result;
  }
  result.value = std::move(attachment);
  return result;
}

}  // namespace dockline::client
