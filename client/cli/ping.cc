#include "client/cli/ping.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/stub_options.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <future>
#include <memory>
#include <string_view>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/credentials.h"
#include "grpc/health/v1/health.pb.h"

namespace dockline::cli {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The method by name: only the health messages are compiled in (proto/CMakeLists.txt), not a
// service stub, so the call goes through a generic stub typed with them.
constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";

// Past this a deadline adds nothing, and now() plus a longer one could overflow.
constexpr std::chrono::hours kLongestDeadline(24 * 365);

// The target Client::Open dials for an address (its helper is private to client.cc): docker's
// tcp:// spelling is not a gRPC scheme.
std::string ChannelTarget(const std::string& address) {
  constexpr std::string_view kTcpScheme = "tcp://";
  return address.starts_with(kTcpScheme) ? address.substr(kTcpScheme.size()) : address;
}

}  // namespace

CLI::App* AddPingCommand(CLI::App& app, PingInvocation& ping) {
  CLI::App* command = app.add_subcommand(
      "ping",
      "Ask docklined whether it serves (grpc.health.v1 Check); exit 0 when SERVING. The deadline "
      "is --timeout, 5s unless given");
  // The global flags (--addr, --timeout, TLS, --json) may follow `ping`, as in a HEALTHCHECK.
  command->fallthrough();
  command->add_option("--service", ping.service,
                      "Ask about this service (e.g. dockline.v1.Dockline) rather than the server "
                      "as a whole");
  return command;
}

int ExecutePing(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  // The same options, and so the same TLS and token, as every other command's channel.
  Result<client::ClientOptions> options = MakeClientOptions(invocation);
  if (!options.ok()) {
    fmt::print(err, "dockline: {}\n", options.status.error_message());
    return kExitCommandFailed;
  }
  const client::ClientOptions& opts = options.value;
  Result<std::shared_ptr<grpc::Channel>> channel =
      client::NewChannel(ChannelTarget(invocation.address), opts.tls ? &*opts.tls : nullptr,
                         opts.token, grpc::ChannelArguments());
  if (!channel.ok()) {
    fmt::print(err, "dockline: {}\n", channel.status.error_message());
    return kExitCommandFailed;
  }

  grpc::ClientContext context;
  const std::chrono::nanoseconds timeout = std::min<std::chrono::nanoseconds>(
      invocation.timeout.value_or(kDefaultPingTimeout), kLongestDeadline);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
  HealthCheckRequest request;
  request.set_service(invocation.ping.service);
  HealthCheckResponse response;
  grpc::TemplatedGenericStub<HealthCheckRequest, HealthCheckResponse> stub(channel.value);
  std::promise<grpc::Status> finished;
  stub.UnaryCall(&context, kCheckMethod, grpc::StubOptions(), &request, &response,
                 [&finished](grpc::Status status) { finished.set_value(std::move(status)); });
  grpc::Status status = finished.get_future().get();
  if (!status.ok()) {
    // Unknown service is NOT_FOUND; nothing listening UNAVAILABLE; a server that never answers
    // DEADLINE_EXCEEDED.
    PrintError(err, status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(response) << '\n';
  } else {
    out << HealthCheckResponse::ServingStatus_Name(response.status()) << '\n';
  }
  out.flush();
  return response.status() == HealthCheckResponse::SERVING ? 0 : kExitCommandFailed;
}

}  // namespace dockline::cli
