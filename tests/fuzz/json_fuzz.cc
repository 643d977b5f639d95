// Every decoder of daemon JSON runs on whatever a daemon (or something posing as one) sends.
// None may throw, crash or read out of bounds, and what they put in a reply must be a message the
// client can parse back: a string cut inside a UTF-8 sequence would reach the client as a
// response it refuses, so each message is serialised and parsed again here.
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/api_version.h"
#include "fuzz/fuzz_input.h"
#include "server/codec/base64url.h"
#include "server/codec/copy_codec.h"
#include "server/codec/exec_codec.h"
#include "server/codec/health_codec.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/prune_codec.h"
#include "server/codec/stats_codec.h"
#include "server/events/event_follower.h"

namespace dockline::fuzz {
namespace {

using nlohmann::json;

template <typename Message>
void CheckRoundTrip(const Message& message) {
  std::string wire;
  DOCKLINE_FUZZ_CHECK(message.SerializeToString(&wire));
  Message back;
  DOCKLINE_FUZZ_CHECK(back.ParseFromString(wire));
}

// Decodes `doc` with `decode` into a fresh message, which must then survive the wire.
template <typename Message, typename Decode>
void DecodeAndCheck(const json& doc, Decode decode) {
  Message message;
  decode(doc, &message);
  CheckRoundTrip(message);
}

void DecodeDocument(const json& doc) {
  DecodeAndCheck<v1::ContainerInfo>(doc, server::ContainerInfoFromJson);
  DecodeAndCheck<v1::ContainerSummary>(doc, server::ContainerSummaryFromJson);
  // A list reply: every item decoded as GET /containers/json's.
  for (const json& item : server::AsArray(doc)) {
    DecodeAndCheck<v1::ContainerSummary>(item, server::ContainerSummaryFromJson);
  }
  DecodeAndCheck<v1::GetEngineInfoResponse>(doc, server::EngineInfoFromVersionJson);
  DecodeAndCheck<v1::InspectExecResponse>(doc, server::ExecInspectFromJson);
  DecodeAndCheck<v1::PruneContainersResponse>(doc, server::ContainersPruneFromJson);
  DecodeAndCheck<v1::PruneImagesResponse>(doc, server::ImagesPruneFromJson);
  DecodeAndCheck<v1::PruneVolumesResponse>(doc, server::VolumesPruneFromJson);
  DecodeAndCheck<v1::PruneNetworksResponse>(doc, server::NetworksPruneFromJson);
  DecodeAndCheck<v1::ContainerStats>(
      doc, [](const json& d, v1::ContainerStats* out) { server::StatsFromJson(d, "", out); });
  // The archive endpoint's X-Docker-Container-Path-Stat header: the document in standard base64.
  DecodeAndCheck<v1::PathStat>(doc, [](const json& d, v1::PathStat* out) {
    std::string header =
        server::Base64UrlEncode(d.dump(-1, ' ', false, json::error_handler_t::replace));
    std::replace(header.begin(), header.end(), '-', '+');
    std::replace(header.begin(), header.end(), '_', '/');
    DOCKLINE_FUZZ_CHECK(server::PathStatFromHeader(header, out) == d.is_object());
  });

  v1::Health health;
  server::HealthFromJson(doc, &health);
  CheckRoundTrip(health);
  server::HealthFromJson(server::StateHealth(doc), &health);
  CheckRoundTrip(health);
  server::DescribeLastProbe(health);
  CheckRoundTrip(server::HealthVerdictFromInspect(doc).health);
  server::ParseContainerEvent(doc);
  DecodeAndCheck<v1::Event>(doc, [](const json& d, v1::Event* out) {
    server::EventToProto(server::ParseDaemonEvent(d), out);
  });

  // The dry runs' readers, on the document and on each item of a list reply.
  for (const json* j : {&doc}) {
    server::IsAnonymousVolume(*j, "1.41");
    server::IsAnonymousVolume(*j, "1.43");
    server::GetSize(*j, "Size");
    server::LabelsOf(*j);
    v1::PruneFilters filters;
    filters.add_labels("a=b");
    filters.add_labels("!c");
    server::MatchPruneLabels(filters, server::LabelsOf(*j));
    server::ListFilters(*j);
  }
  for (const json& item : server::AsArray(doc)) {
    server::IsAnonymousVolume(item, "1.43");
    server::GetSize(item, "Size");
  }
}

}  // namespace
}  // namespace dockline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dockline;
  using namespace dockline::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Daemon strings that are not JSON documents: times and API versions.
  google::protobuf::Timestamp ts;
  if (server::ParseDockerTime(text, &ts)) {
    DOCKLINE_FUZZ_CHECK(ts.nanos() >= 0 && ts.nanos() < 1'000'000'000);
    server::DockerTimeParam(ts);
  }
  auto version = engine::NegotiateApiVersion(std::string(text));
  if (version.ok()) {
    DOCKLINE_FUZZ_CHECK(engine::CompareApiVersions(version.value(), engine::kNewestApiVersion) <=
                        0);
    DOCKLINE_FUZZ_CHECK(engine::CompareApiVersions(version.value(), engine::kOldestApiVersion) >=
                        0);
  }

  // The events body, cut into lines at an arbitrary read size; every line is one event.
  server::LineSplitter lines(4096);
  const size_t chunk = size % 13 + 1;
  FeedInChunks(text, chunk, [&](std::string_view read) {
    return lines.Feed(read, [](std::string_view line) {
      DOCKLINE_FUZZ_CHECK(line.size() <= 4096);
      DOCKLINE_FUZZ_CHECK(line.find('\n') == std::string_view::npos);
      json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!event.is_discarded()) server::ParseContainerEvent(event);
    });
  });

  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  DecodeDocument(doc);
  return 0;
}
