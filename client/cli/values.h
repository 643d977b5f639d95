#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

// Parsers for the docker CLI's value forms. Errors are INVALID_ARGUMENT statuses whose message
// names the flag's kind and quotes the value: `invalid publish spec "x": invalid port "x"`.
namespace dockline::cli {

using client::Result;

// Looks a variable up in the environment of the CLI process; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> ProcessEnv(const std::string& name);

// Go's time.ParseDuration, which docker uses: "1m30s", "500ms", "1.5h", "-2s", "0".
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// A duration flag (--timeout, --keepalive-time, --health-interval...): a Go duration, or a bare
// number of seconds ("30", "1.5"), as docker's own timeouts (`stop -t 10`) are.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// docker's --since/--until forms: RFC 3339 ("2026-11-28T06:00:00Z", fractions and offsets
// allowed), Unix seconds with an optional fraction ("1700000000.5"), or a Go duration that counts
// back from `now` ("10m", "1h30m").
Result<std::chrono::system_clock::time_point> ParseTimeArg(
    std::string_view text, std::chrono::system_clock::time_point now);

// --since and --until as ParseTimeArg reads them; an empty text leaves its target unset. A bad
// value is INVALID_ARGUMENT naming the flag: `--since: ...`.
grpc::Status ParseSinceUntil(const std::string& since, const std::string& until,
                             std::chrono::system_clock::time_point now,
                             std::optional<std::chrono::system_clock::time_point>* since_out,
                             std::optional<std::chrono::system_clock::time_point>* until_out);

// Whole seconds, as docker's `stop -t` and `--stop-timeout` take them; not negative.
Result<std::chrono::nanoseconds> ParseSeconds(std::string_view text);

// -p/--publish: "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80", "80", "[::1]:8080:80", each
// with an optional "/udp", "/tcp" or "/sctp", and equal-length ranges ("8080-8081:80-81").
Result<std::vector<v1::PortBinding>> ParsePublish(std::string_view spec);

// -v/--volume: "src:dst[:mode]" or "dst[:mode]" (an anonymous volume). Appends to
// spec.volumes or, for what VolumeBind cannot say, spec.mounts.
grpc::Status ParseVolume(std::string_view volume, v1::ContainerSpec& spec);

// --mount: docker's CSV of key=value fields. The type defaults to volume, as in docker.
Result<v1::Mount> ParseMount(std::string_view mount);

// --tmpfs: "/path[:options]" -> (path, options).
Result<std::pair<std::string, std::string>> ParseTmpfs(std::string_view tmpfs);

// --restart: "no", "always", "unless-stopped", "on-failure[:N]".
Result<v1::RestartPolicy> ParseRestart(std::string_view restart);

// --cpus: a decimal number of CPUs -> nano CPUs ("0.5" -> 500000000).
Result<int64_t> ParseCpus(std::string_view cpus);

// docker's RAMInBytes (binary units): "64m", "1.5g", "512k", "100".
Result<int64_t> ParseRamBytes(std::string_view size);

// -e/--env: "K=V" as is; "K" alone takes K's value from this process's environment, or
// stays "K" (unset in the container) when there is none, as docker does.
Result<std::string> ParseEnv(std::string_view entry, const EnvLookup& env);

// -l/--label "k=v" or "k" (empty value).
Result<std::pair<std::string, std::string>> ParseLabel(std::string_view label);

// ps -f "key=value".
Result<std::pair<std::string, std::string>> ParseFilter(std::string_view filter);

// wait --condition: "not-running", "next-exit", "removed".
Result<v1::WaitCondition> ParseWaitCondition(std::string_view condition);

}  // namespace dockline::cli
