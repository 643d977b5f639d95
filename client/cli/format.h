#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dockline/v1/dockline.pb.h"

// Human output of the CLI, shaped like docker's so that habits and scripts carry over.
namespace dockline::cli {

// docker's units.HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks".
std::string HumanDuration(std::chrono::nanoseconds duration);

// docker's units.HumanSize: decimal units, 4 significant digits ("1.235MB", "0B", "999B").
std::string HumanSize(uint64_t bytes);
// docker's units.BytesSize: binary units, 4 significant digits ("1.907MiB", "7.775GiB").
std::string BytesSize(uint64_t bytes);

// Rows laid out as docker's tabwriter does: columns of at least 10, 3 spaces apart, no
// trailing blanks.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// docker's CREATED cell: "3 hours ago".
std::string CreatedAgo(const google::protobuf::Timestamp& created,
                       std::chrono::system_clock::time_point now);

// docker ps's PORTS cell: "127.0.0.1:8080->80/tcp, 53/udp".
std::string FormatPorts(const v1::ContainerSummary& container);

// The `ps` table: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES, laid out as
// docker's tabwriter does (columns of at least 10, 3 spaces apart). `now` makes CREATED
// deterministic in tests.
std::string FormatPsTable(const v1::ListContainersResponse& list,
                          std::chrono::system_clock::time_point now, bool no_trunc);
// The same across hosts: a HOST column first, each host's containers in the hosts' order.
std::string FormatFleetPsTable(
    const std::vector<std::pair<std::string, const v1::ListContainersResponse*>>& hosts,
    std::chrono::system_clock::time_point now, bool no_trunc);

// One line of proto3 JSON, with zero values printed (an exit code of 0 must show).
std::string ToJson(const google::protobuf::Message& message);

// The daemon's inspect documents as `docker inspect` prints them: a JSON array, 4-space indent.
// A document that is not JSON is replaced by the typed view of the container.
std::string FormatInspectArray(const std::vector<v1::InspectContainerResponse>& replies);

std::string FormatVersion(std::string_view client_version, const v1::GetEngineInfoResponse* engine);

}  // namespace dockline::cli
