#include "client/client.h"

#include <fmt/format.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <climits>

namespace dockline::client {
namespace {

// The server answers a Wait timeout itself (with its message); the RPC deadline is a backstop
// for a server that does not, so it must come later.
constexpr std::chrono::seconds kWaitDeadlineSlack(5);
// The grace period the daemon applies to stop/restart when none is given.
constexpr std::chrono::seconds kDefaultStopGrace(10);
// gRPC's 4 MiB default is too little for a large `ps -a` or a big inspect document.
constexpr int kMaxReceiveMessageBytes = 64 << 20;

// Beyond this a deadline means "never", and adding it to now() could overflow.
constexpr std::chrono::hours kNoDeadlineBeyond(24 * 365 * 100);

void ApplyTimeout(grpc::ClientContext& context, std::optional<std::chrono::nanoseconds> timeout) {
  if (timeout && *timeout < kNoDeadlineBeyond) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(*timeout));
  }
}

// docker's tcp:// spelling is not a gRPC scheme.
std::string ChannelTarget(const std::string& address) {
  constexpr std::string_view kTcpScheme = "tcp://";
  return address.starts_with(kTcpScheme) ? address.substr(kTcpScheme.size()) : address;
}

grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  return arguments;
}

// The channel `options` ask for; keepalive values a gRPC channel argument (an int of ms) cannot
// hold are refused rather than wrapped.
Result<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                   const ClientOptions& options) {
  grpc::ChannelArguments arguments = ChannelArgs();
  constexpr std::chrono::milliseconds kMaxArgument{INT_MAX};
  if (options.keepalive_time.count() < 0 || options.keepalive_time > kMaxArgument) {
    return Error<std::shared_ptr<grpc::Channel>>(
        InvalidArgument(fmt::format("keepalive time {}ms: want 0 (no pings) up to {}ms",
                                    options.keepalive_time.count(), kMaxArgument.count())));
  }
  if (options.keepalive_time.count() > 0) {
    if (options.keepalive_timeout.count() <= 0 || options.keepalive_timeout > kMaxArgument) {
      return Error<std::shared_ptr<grpc::Channel>>(
          InvalidArgument(fmt::format("keepalive timeout {}ms: want 1ms up to {}ms",
                                      options.keepalive_timeout.count(), kMaxArgument.count())));
    }
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time.count()));
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                     static_cast<int>(options.keepalive_timeout.count()));
    // A quiet follow stream sends no data, and by default gRPC stops pinging after two pings
    // without data: keepalive would end after a minute.
    arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return NewChannel(target, options.tls ? &*options.tls : nullptr, options.token, arguments);
}

void AddFilters(const Filters& filters, google::protobuf::RepeatedPtrField<v1::Filter>* out) {
  for (const auto& [key, value] : filters) {
    v1::Filter& filter = *out->Add();
    filter.set_key(key);
    filter.set_value(value);
  }
}

}  // namespace

Client::Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : stub_(v1::Dockline::NewStub(std::move(channel))), options_(std::move(options)) {}

Client::Client(std::unique_ptr<v1::Dockline::StubInterface> stub, ClientOptions options)
    : stub_(std::move(stub)), options_(std::move(options)) {}

Result<std::unique_ptr<Client>> Client::Open(const std::string& address, ClientOptions options) {
  Result<std::shared_ptr<grpc::Channel>> channel = OpenChannel(ChannelTarget(address), options);
  if (!channel.ok()) {
    return Error<std::unique_ptr<Client>>(std::move(channel.status));
  }
  return Ok(std::make_unique<Client>(std::move(channel.value), std::move(options)));
}

Client Client::Connect(const std::string& address, ClientOptions options) {
  const std::string target = ChannelTarget(address);
  Result<std::shared_ptr<grpc::Channel>> channel = OpenChannel(target, options);
  if (!channel.ok()) {
    // Null credentials make gRPC build a lame channel: nothing leaves the process, so neither
    // the token nor a request meant for TLS travels in clear.
    channel.value = grpc::CreateCustomChannel(target, nullptr, ChannelArgs());
  }
  return Client(std::move(channel.value), std::move(options));
}

std::optional<std::chrono::nanoseconds> Client::DefaultTimeout(
    std::chrono::nanoseconds extra) const {
  if (!options_.default_timeout) {
    return std::nullopt;
  }
  return *options_.default_timeout + extra;
}

Result<RunResult> Client::Run(const v1::ContainerSpec& spec, const RunOptions& options) {
  grpc::ClientContext context;
  ApplyTimeout(context, options.timeout ? options.timeout
                                        : (options.detach ? DefaultTimeout() : std::nullopt));
  v1::RunContainerRequest request;
  *request.mutable_spec() = spec;
  request.set_detach(options.detach);
  request.set_timestamps(options.timestamps);
  request.set_pull(options.pull);
  *request.mutable_registry_auth() = options.registry_auth;

  Result<RunResult> result;
  RunResult& run = result.value;
  bool started = false;
  bool exited = false;
  std::unique_ptr<grpc::ClientReaderInterface<v1::RunContainerResponse>> reader =
      stub_->RunContainer(&context, request);
  v1::RunContainerResponse response;
  while (reader->Read(&response)) {
    if (options.on_event) {
      options.on_event(response);
    }
    switch (response.event_case()) {
      case v1::RunContainerResponse::kStarted:
        started = true;
        run.id = response.started().id();
        run.warnings.assign(response.started().warnings().begin(),
                            response.started().warnings().end());
        break;
      case v1::RunContainerResponse::kOutput: {
        const v1::OutputChunk& chunk = response.output();
        if (options.collect_output) {
          (chunk.stream() == v1::STREAM_STDERR ? run.stderr_bytes : run.stdout_bytes)
              .append(chunk.data());
          run.output.append(chunk.data());
        }
        if (options.on_output) {
          options.on_output(chunk.stream(), chunk.data());
        }
        break;
      }
      case v1::RunContainerResponse::kExited:
        exited = true;
        run.exit_code = response.exited().exit_code();
        run.error = response.exited().error();
        run.removed = response.exited().removed();
        break;
      case v1::RunContainerResponse::kPull:  // on_event has seen it
      case v1::RunContainerResponse::EVENT_NOT_SET:
        break;
    }
  }
  result.status = reader->Finish();
  // A clean end without the events the contract promises would otherwise look like success.
  if (result.status.ok() && !started) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the run stream ended before the container started");
  } else if (result.status.ok() && !options.detach && !exited) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the run stream ended without the container's exit status");
  }
  return result;
}

Result<v1::CreateContainerResponse> Client::Create(const v1::ContainerSpec& spec,
                                                   v1::PullPolicy pull,
                                                   const v1::RegistryAuth& registry_auth) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::CreateContainerRequest request;
  *request.mutable_spec() = spec;
  request.set_pull(pull);
  *request.mutable_registry_auth() = registry_auth;
  Result<v1::CreateContainerResponse> result;
  result.status = stub_->CreateContainer(&context, request, &result.value);
  return result;
}

Result<v1::StartContainerResponse> Client::Start(const std::string& container) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::StartContainerRequest request;
  request.set_container(container);
  Result<v1::StartContainerResponse> result;
  result.status = stub_->StartContainer(&context, request, &result.value);
  return result;
}

Result<v1::StopContainerResponse> Client::Stop(const std::string& container,
                                               std::optional<std::chrono::nanoseconds> timeout) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout(timeout.value_or(kDefaultStopGrace)));
  v1::StopContainerRequest request;
  request.set_container(container);
  if (timeout) {
    *request.mutable_timeout() = ToProtoDuration(*timeout);
  }
  Result<v1::StopContainerResponse> result;
  result.status = stub_->StopContainer(&context, request, &result.value);
  return result;
}

grpc::Status Client::Restart(const std::string& container,
                             std::optional<std::chrono::nanoseconds> timeout) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout(timeout.value_or(kDefaultStopGrace)));
  v1::RestartContainerRequest request;
  request.set_container(container);
  if (timeout) {
    *request.mutable_timeout() = ToProtoDuration(*timeout);
  }
  v1::RestartContainerResponse response;
  return stub_->RestartContainer(&context, request, &response);
}

grpc::Status Client::Kill(const std::string& container, std::string_view signal) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::KillContainerRequest request;
  request.set_container(container);
  request.set_signal(std::string(signal));
  v1::KillContainerResponse response;
  return stub_->KillContainer(&context, request, &response);
}

grpc::Status Client::Remove(const std::string& container, bool force, bool volumes) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::RemoveContainerRequest request;
  request.set_container(container);
  request.set_force(force);
  request.set_remove_volumes(volumes);
  v1::RemoveContainerResponse response;
  return stub_->RemoveContainer(&context, request, &response);
}

Result<v1::InspectContainerResponse> Client::Inspect(const std::string& container) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::InspectContainerRequest request;
  request.set_container(container);
  Result<v1::InspectContainerResponse> result;
  result.status = stub_->InspectContainer(&context, request, &result.value);
  return result;
}

Result<v1::ListContainersResponse> Client::List(bool all, const Filters& filters, int limit) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::ListContainersRequest request;
  request.set_all(all);
  request.set_limit(limit);
  AddFilters(filters, request.mutable_filters());
  Result<v1::ListContainersResponse> result;
  result.status = stub_->ListContainers(&context, request, &result.value);
  return result;
}

Result<v1::PulledImage> Client::Pull(const std::string& image, const PullOptions& options) {
  grpc::ClientContext context;
  ApplyTimeout(context, options.timeout);
  v1::PullImageRequest request;
  request.set_image(image);
  request.set_platform(options.platform);
  *request.mutable_registry_auth() = options.registry_auth;
  Result<v1::PulledImage> result;
  bool pulled = false;
  auto reader = stub_->PullImage(&context, request);
  v1::PullImageResponse response;
  while (reader->Read(&response)) {
    if (response.has_progress() && options.on_progress) {
      options.on_progress(response.progress());
    } else if (response.has_pulled()) {
      pulled = true;
      result.value = response.pulled();
    }
  }
  result.status = reader->Finish();
  if (result.status.ok() && !pulled) {
    result.status =
        grpc::Status(grpc::StatusCode::INTERNAL, "the pull stream ended without the pulled image");
  }
  return result;
}

Result<v1::ListImagesResponse> Client::ListImages(const std::string& name, bool all,
                                                  const Filters& filters) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::ListImagesRequest request;
  request.set_name(name);
  request.set_all(all);
  AddFilters(filters, request.mutable_filters());
  Result<v1::ListImagesResponse> result;
  result.status = stub_->ListImages(&context, request, &result.value);
  return result;
}

Result<v1::InspectImageResponse> Client::InspectImage(const std::string& image) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::InspectImageRequest request;
  request.set_image(image);
  Result<v1::InspectImageResponse> result;
  result.status = stub_->InspectImage(&context, request, &result.value);
  return result;
}

Result<v1::RemoveImageResponse> Client::RemoveImage(const std::string& image, bool force,
                                                    bool no_prune) {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  v1::RemoveImageRequest request;
  request.set_image(image);
  request.set_force(force);
  request.set_no_prune(no_prune);
  Result<v1::RemoveImageResponse> result;
  result.status = stub_->RemoveImage(&context, request, &result.value);
  return result;
}

Result<v1::WaitContainerResponse> Client::Wait(const std::string& container,
                                               std::optional<std::chrono::nanoseconds> timeout,
                                               v1::WaitCondition condition) {
  grpc::ClientContext context;
  v1::WaitContainerRequest request;
  request.set_container(container);
  request.set_condition(condition);
  if (timeout) {
    *request.mutable_timeout() = ToProtoDuration(*timeout);
    ApplyTimeout(context, *timeout + kWaitDeadlineSlack);
  }
  Result<v1::WaitContainerResponse> result;
  result.status = stub_->WaitContainer(&context, request, &result.value);
  return result;
}

Result<v1::GetEngineInfoResponse> Client::EngineInfo() {
  grpc::ClientContext context;
  ApplyTimeout(context, DefaultTimeout());
  Result<v1::GetEngineInfoResponse> result;
  result.status = stub_->GetEngineInfo(&context, v1::GetEngineInfoRequest(), &result.value);
  return result;
}

}  // namespace dockline::client
