#include "client/client_exec.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "client/client.h"
#include "client/shlex.h"

namespace dockline::client {
namespace {

// Beyond this a deadline means "never", and adding it to now() could overflow.
constexpr std::chrono::hours kNoDeadlineBeyond(24 * 365 * 100);

void SetDeadline(grpc::ClientContext& context, std::optional<std::chrono::nanoseconds> timeout) {
  if (timeout && *timeout < kNoDeadlineBeyond) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(*timeout));
  }
}

v1::ExecConfig MakeConfig(const std::string& container, const ExecCommand& cmd,
                          const ExecOptions& options) {
  v1::ExecConfig config;
  config.set_container(container);
  config.mutable_cmd()->Assign(cmd.argv().begin(), cmd.argv().end());
  config.set_stdout(options.stdout_stream);
  config.set_stderr(options.stderr_stream);
  config.set_tty(options.tty);
  config.set_privileged(options.privileged);
  config.set_user(options.user);
  config.mutable_env()->Assign(options.env.begin(), options.env.end());
  config.set_workdir(options.workdir);
  return config;
}

// Reads one StreamExec call to its end into `exec`, whose offset follows the output.
grpc::Status DrainExec(grpc::ClientReaderInterface<v1::StreamExecResponse>* reader,
                       const ExecOptions& options, ExecResult* exec, bool* exited) {
  v1::StreamExecResponse response;
  while (reader->Read(&response)) {
    switch (response.event_case()) {
      case v1::StreamExecResponse::kExecId:
        exec->exec_id = response.exec_id();
        break;
      case v1::StreamExecResponse::kResumed:
        exec->exec_id = response.resumed().exec_id();
        exec->offset = response.resumed().offset();
        exec->lost_bytes += response.resumed().lost_bytes();
        break;
      case v1::StreamExecResponse::kOutput: {
        const v1::OutputChunk& chunk = response.output();
        exec->offset += chunk.data().size();
        if (options.collect_output) {
          (chunk.stream() == v1::STREAM_STDERR ? exec->stderr_bytes : exec->stdout_bytes)
              .append(chunk.data());
          exec->output.append(chunk.data());
        }
        if (options.on_output) {
          options.on_output(chunk.stream(), chunk.data());
        }
        break;
      }
      case v1::StreamExecResponse::kExited:
        *exited = true;
        exec->exit_code = response.exited().exit_code();
        break;
      case v1::StreamExecResponse::EVENT_NOT_SET:
        break;
    }
  }
  return reader->Finish();
}

}  // namespace

// StreamExec{exec_id, offset} until the exit, again after each dropped connection (UNAVAILABLE:
// the server or the network went; anything else is the answer) for options.reattach_within.
grpc::Status Client::ReattachExec(const ExecOptions& options, ExecResult* exec, bool* exited,
                                  bool first_now) {
  const auto give_up = std::chrono::steady_clock::now() + options.reattach_within;
  std::chrono::milliseconds backoff(50);
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "");
  for (bool now = first_now; status.error_code() == grpc::StatusCode::UNAVAILABLE && !*exited;
       now = false) {
    if (!now) {
      if (std::chrono::steady_clock::now() + backoff > give_up) {
        break;
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    grpc::ClientContext context;
    SetDeadline(context, options.timeout);
    v1::StreamExecRequest request;
    request.set_exec_id(exec->exec_id);
    request.set_offset(exec->offset);
    auto reader = stub_->StreamExec(&context, request);
    status = DrainExec(reader.get(), options, exec, exited);
  }
  return status;
}

ExecCommand::ExecCommand(std::vector<std::string> argv) : argv_(std::move(argv)) {}

ExecCommand::ExecCommand(std::initializer_list<std::string> argv) : argv_(argv) {}

ExecCommand::ExecCommand(const char* command_line)
    : ExecCommand(std::string(command_line == nullptr ? "" : command_line)) {}

ExecCommand::ExecCommand(const std::string& command_line) {
  Result<std::vector<std::string>> split = ShlexSplit(command_line);
  if (!split.ok()) {
    status_ = split.status;
    return;
  }
  argv_ = std::move(split.value);
}

Result<ExecResult> Client::ExecRun(const std::string& container, const ExecCommand& cmd,
                                   const ExecOptions& options) {
  Result<ExecResult> result;
  if (!cmd.status().ok()) {
    result.status = cmd.status();
    return result;
  }
  grpc::ClientContext context;
  SetDeadline(context, options.timeout);
  v1::ExecContainerRequest request;
  *request.mutable_config() = MakeConfig(container, cmd, options);
  request.set_demux(options.demux);
  v1::ExecContainerResponse response;
  result.status = stub_->ExecContainer(&context, request, &response);
  if (!result.ok()) {
    return result;
  }
  ExecResult& exec = result.value;
  exec.exec_id = response.exec_id();
  exec.exit_code = response.exit_code();
  exec.output = std::move(*response.mutable_output());
  exec.stdout_bytes = std::move(*response.mutable_stdout());
  exec.stderr_bytes = std::move(*response.mutable_stderr());
  exec.truncated = response.truncated();
  return result;
}

Result<ExecResult> Client::ExecStream(const std::string& container, const ExecCommand& cmd,
                                      const ExecOptions& options) {
  Result<ExecResult> result;
  if (!cmd.status().ok()) {
    result.status = cmd.status();
    return result;
  }
  grpc::ClientContext context;
  SetDeadline(context, options.timeout);
  v1::StreamExecRequest request;
  *request.mutable_config() = MakeConfig(container, cmd, options);
  request.set_retain_output(options.retain_output);
  ExecResult& exec = result.value;
  bool exited = false;
  auto reader = stub_->StreamExec(&context, request);
  result.status = DrainExec(reader.get(), options, &exec, &exited);
  if (options.retain_output && !exited && !exec.exec_id.empty() &&
      result.status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    result.status = ReattachExec(options, &exec, &exited, /*first_now=*/false);
  }
  if (result.ok() && !exited) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the exec stream ended without the command's exit code");
  }
  return result;
}

Result<std::string> Client::ExecStart(const std::string& container, const ExecCommand& cmd,
                                      const ExecOptions& options) {
  Result<std::string> result;
  if (!cmd.status().ok()) {
    result.status = cmd.status();
    return result;
  }
  grpc::ClientContext context;
  SetDeadline(context, options.timeout ? options.timeout : DefaultTimeout());
  v1::StartExecRequest request;
  *request.mutable_config() = MakeConfig(container, cmd, options);
  request.set_retain_output(options.retain_output);
  v1::StartExecResponse response;
  result.status = stub_->StartExec(&context, request, &response);
  result.value = response.exec_id();
  return result;
}

Result<ExecResult> Client::ExecResume(const std::string& exec_id, uint64_t offset,
                                      const ExecOptions& options) {
  Result<ExecResult> result;
  result.value.exec_id = exec_id;
  result.value.offset = offset;
  bool exited = false;
  result.status = ReattachExec(options, &result.value, &exited, /*first_now=*/true);
  if (result.ok() && !exited) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the exec stream ended without the command's exit code");
  }
  return result;
}

Result<v1::InspectExecResponse> Client::ExecInspect(const std::string& exec_id) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  v1::InspectExecRequest request;
  request.set_exec_id(exec_id);
  Result<v1::InspectExecResponse> result;
  result.status = stub_->InspectExec(&context, request, &result.value);
  return result;
}

Result<std::unique_ptr<ExecAttachment>> Client::ExecAttach(const std::string& container,
                                                           const ExecCommand& cmd,
                                                           const ExecOptions& options) {
  Result<std::unique_ptr<ExecAttachment>> result;
  if (!cmd.status().ok()) {
    result.status = cmd.status();
    return result;
  }
  auto context = std::make_unique<grpc::ClientContext>();
  SetDeadline(*context, options.timeout);
  auto stream = stub_->AttachExec(context.get());
  v1::AttachExecRequest first;
  *first.mutable_config() = MakeConfig(container, cmd, options);
  first.mutable_config()->set_stdin(options.stdin);
  return OpenAttachment(std::make_unique<ExecAttachment>(std::move(context), std::move(stream)),
                        first, "the exec stream ended before the exec started");
}

}  // namespace dockline::client
