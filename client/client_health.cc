#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "client/client.h"
#include "client/spec_values.h"

namespace dockline::client {
namespace {

// The server answers a WaitHealthy timeout itself, naming the status it last saw; the RPC
// deadline is only a backstop and must come later.
constexpr std::chrono::seconds kWaitDeadlineSlack(5);
// Beyond this a deadline means "never", and adding it to now() could overflow.
constexpr std::chrono::hours kNoDeadlineBeyond(24 * 365 * 100);

void SetDeadline(grpc::ClientContext& context, std::optional<std::chrono::nanoseconds> timeout) {
  if (timeout && *timeout < kNoDeadlineBeyond) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(*timeout));
  }
}

}  // namespace

Result<v1::GetHealthResponse> Client::GetHealth(const std::string& container) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  v1::GetHealthRequest request;
  request.set_container(container);
  Result<v1::GetHealthResponse> result;
  result.status = stub_->GetHealth(&context, request, &result.value);
  return result;
}

Result<v1::WaitHealthyResponse> Client::WaitHealthy(
    const std::string& container, std::optional<std::chrono::nanoseconds> timeout) {
  grpc::ClientContext context;
  v1::WaitHealthyRequest request;
  request.set_container(container);
  if (timeout) {
    *request.mutable_timeout() = ToProtoDuration(*timeout);
    SetDeadline(context, *timeout + kWaitDeadlineSlack);
  }
  Result<v1::WaitHealthyResponse> result;
  result.status = stub_->WaitHealthy(&context, request, &result.value);
  return result;
}

namespace {

// Hands each message of a server stream to `on_message` until the stream ends (its status) or
// `on_message` returns false (OK: the call is cancelled).
template <typename Response, typename Reader>
grpc::Status ReadEach(grpc::ClientContext& context, Reader reader,
                      const std::function<bool(const Response&)>& on_message) {
  Response response;
  bool stopped = false;
  while (reader->Read(&response)) {
    if (on_message && !on_message(response)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  return stopped ? grpc::Status::OK : status;
}

}  // namespace

grpc::Status Client::WatchHealth(const std::string& container, const HealthWatchCallback& on_change,
                                 std::optional<std::chrono::nanoseconds> timeout) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  v1::WatchHealthRequest request;
  request.set_container(container);
  return ReadEach<v1::WatchHealthResponse>(context, stub_->WatchHealth(&context, request),
                                           on_change);
}

Result<v1::ContainerStats> Client::GetStats(const std::string& container) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  v1::GetStatsRequest request;
  request.set_container(container);
  v1::GetStatsResponse response;
  Result<v1::ContainerStats> result;
  result.status = stub_->GetStats(&context, request, &response);
  result.value = std::move(*response.mutable_stats());
  return result;
}

grpc::Status Client::WatchEvents(const EventsOptions& options, const EventCallback& on_event) {
  grpc::ClientContext context;
  v1::WatchEventsRequest request;
  for (const auto& [key, value] : options.filters) {
    v1::Filter* filter = request.add_filters();
    filter->set_key(key);
    filter->set_value(value);
  }
  if (options.since) {
    *request.mutable_since() = ToTimestamp(*options.since);
  }
  if (options.until) {
    *request.mutable_until() = ToTimestamp(*options.until);
  }
  return ReadEach<v1::WatchEventsResponse>(
      context, stub_->WatchEvents(&context, request),
      [&on_event](const v1::WatchEventsResponse& msg) { return on_event(msg.event()); });
}

grpc::Status Client::StreamStats(const std::string& container, const StatsCallback& on_sample) {
  grpc::ClientContext context;
  v1::StreamStatsRequest request;
  request.set_container(container);
  return ReadEach<v1::StreamStatsResponse>(
      context, stub_->StreamStats(&context, request),
      [&on_sample](const v1::StreamStatsResponse& msg) { return on_sample(msg.stats()); });
}

namespace {

// The fields every prune request has.
template <typename Request>
Request PruneRequest(const PruneOptions& options) {
  Request request;
  *request.mutable_filters() = options.filters;
  request.set_dry_run(options.dry_run);
  if (!options.apply_plan.empty()) {
    request.mutable_apply()->set_plan(options.apply_plan);
  } else if (!options.apply_ids.empty()) {
    for (const std::string& id : options.apply_ids) {
      request.mutable_apply()->mutable_ids()->add_ids(id);
    }
  }
  return request;
}

}  // namespace

Result<v1::PruneContainersResponse> Client::PruneContainers(const PruneOptions& options) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  auto request = PruneRequest<v1::PruneContainersRequest>(options);
  Result<v1::PruneContainersResponse> result;
  result.status = stub_->PruneContainers(&context, request, &result.value);
  return result;
}

Result<v1::PruneImagesResponse> Client::PruneImages(const PruneOptions& options) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  auto request = PruneRequest<v1::PruneImagesRequest>(options);
  if (options.all) {
    request.set_dangling(false);
  }
  Result<v1::PruneImagesResponse> result;
  result.status = stub_->PruneImages(&context, request, &result.value);
  return result;
}

Result<v1::PruneVolumesResponse> Client::PruneVolumes(const PruneOptions& options) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  auto request = PruneRequest<v1::PruneVolumesRequest>(options);
  request.set_all(options.all);
  Result<v1::PruneVolumesResponse> result;
  result.status = stub_->PruneVolumes(&context, request, &result.value);
  return result;
}

Result<v1::PruneNetworksResponse> Client::PruneNetworks(const PruneOptions& options) {
  grpc::ClientContext context;
  SetDeadline(context, DefaultTimeout());
  auto request = PruneRequest<v1::PruneNetworksRequest>(options);
  Result<v1::PruneNetworksResponse> result;
  result.status = stub_->PruneNetworks(&context, request, &result.value);
  return result;
}

}  // namespace dockline::client
