#include "client/client.h"
#include "client/spec_values.h"

namespace dockline::client {

bool LogStream::Next(v1::OutputChunk* chunk) {
  v1::StreamLogsResponse msg;
  if (!reader_->Read(&msg)) {
    return false;
  }
  *chunk = std::move(*msg.mutable_output());
  return true;
}

grpc::Status LogStream::Finish() { return reader_->Finish(); }

std::unique_ptr<LogStream> Client::StreamLogs(const std::string& container,
                                              const LogsOptions& options) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (options.timeout) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::microseconds>(*options.timeout));
  }
  v1::StreamLogsRequest request;
  request.set_container(container);
  request.set_stdout(options.stdout_stream);
  request.set_stderr(options.stderr_stream);
  request.set_follow(options.follow);
  request.set_timestamps(options.timestamps);
  if (options.tail) {
    request.set_tail(*options.tail);
  }
  if (options.since) {
    *request.mutable_since() = ToTimestamp(*options.since);
  }
  if (options.until) {
    *request.mutable_until() = ToTimestamp(*options.until);
  }
  request.set_resume_from(options.resume_from);
  auto reader = stub_->StreamLogs(context.get(), request);
  return std::make_unique<LogStream>(std::move(context), std::move(reader));
}

Result<LogsResult> Client::Logs(const std::string& container, const LogsOptions& options) {
  auto stream = StreamLogs(container, options);
  Result<LogsResult> result;
  v1::OutputChunk chunk;
  while (stream->Next(&chunk)) {
    (chunk.stream() == v1::STREAM_STDERR ? result.value.stderr_bytes : result.value.stdout_bytes)
        .append(chunk.data());
    result.value.output.append(chunk.data());
  }
  result.status = stream->Finish();
  return result;
}

}  // namespace dockline::client
