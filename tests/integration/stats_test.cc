// GetStats and StreamStats (and `dockline stats`) against the real daemon: a container that
// keeps one CPU busy under a 64 MiB limit, its samples checked for what docker stats would show.

#include <gmock/gmock.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kLimit = 64 << 20;

class StatsTest : public DaemonTest {
 protected:
  std::string Busy() {
    v1::ContainerSpec spec = Spec({"sh", "-c", "while :; do :; done"});
    spec.set_memory_bytes(kLimit);
    spec.set_name(UniqueName("stats"));
    name_ = spec.name();
    return CreateAndStart(spec);
  }

  grpc::Status GetStats(const std::string& container, v1::ContainerStats* out) {
    v1::GetStatsRequest req;
    req.set_container(container);
    v1::GetStatsResponse resp;
    grpc::Status st = stub().GetStats(Context().get(), req, &resp);
    *out = resp.stats();
    return st;
  }

  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::string name_;
};

TEST_F(StatsTest, OneSampleOfABusyContainerAsDockerStatsShowsIt) {
  std::string id = Busy();
  v1::ContainerStats s;
  grpc::Status st = GetStats(name_, &s);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(s.id(), id);
  EXPECT_EQ(s.name(), name_);
  EXPECT_TRUE(s.has_read());
  EXPECT_GE(s.online_cpus(), 1u);
  // A one-shot answer carries the sample before it, so the busy loop shows.
  EXPECT_GT(s.cpu_percent(), 0.0);
  EXPECT_LE(s.cpu_percent(), 100.0 * s.online_cpus() + 1.0);
  EXPECT_EQ(s.memory_limit(), static_cast<uint64_t>(kLimit));
  EXPECT_GT(s.memory_usage(), 0u);
  EXPECT_LT(s.memory_usage(), static_cast<uint64_t>(kLimit));
  EXPECT_GE(s.pids(), 1u);
  nlohmann::json raw = nlohmann::json::parse(s.raw_json(), nullptr, false);
  ASSERT_TRUE(raw.is_object()) << s.raw_json();
  EXPECT_TRUE(raw.contains("cpu_stats"));
  EXPECT_EQ(raw.value("id", ""), id);
}

TEST_F(StatsTest, StreamGivesASampleEachSecondAndEndsWhenTheContainerGoes) {
  std::string id = Busy();
  v1::StreamStatsRequest req;
  req.set_container(id);
  auto ctx = Context();
  auto reader = stub().StreamStats(ctx.get(), req);
  std::vector<v1::StreamStatsResponse> samples(3);
  for (auto& sample : samples) {
    ASSERT_TRUE(reader->Read(&sample)) << reader->Finish().error_message();
    EXPECT_EQ(sample.stats().id(), id);
    EXPECT_EQ(sample.stats().memory_limit(), static_cast<uint64_t>(kLimit));
  }
  for (size_t i = 1; i < samples.size(); ++i) {
    EXPECT_LT(samples[i - 1].stats().read().seconds() * 1000000000 +
                  samples[i - 1].stats().read().nanos(),
              samples[i].stats().read().seconds() * 1000000000 + samples[i].stats().read().nanos())
        << "samples out of order";
  }
  EXPECT_GT(samples.back().stats().cpu_percent(), 0.0);

  engine::ApiRequest remove("DELETE", "/containers/" + id);
  remove.Query("force", "1");
  ASSERT_TRUE(Daemon(remove).ok());
  v1::StreamStatsResponse more;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reader->Read(&more)) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "the stream outlived its container";
  }
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
}

TEST_F(StatsTest, AMissingContainerIsNotFound) {
  v1::ContainerStats s;
  EXPECT_EQ(GetStats("no-such-container-" + UniqueName(), &s).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::StreamStatsRequest req;
  req.set_container("no-such-container-" + UniqueName());
  auto ctx = Context();
  auto reader = stub().StreamStats(ctx.get(), req);
  v1::StreamStatsResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(StatsTest, CliTableAndJson) {
  std::string id = Busy();
  CommandResult table = Cli({"stats", "--no-stream", name_});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("CONTAINER ID   NAME"));
  EXPECT_THAT(table.out, HasSubstr(id.substr(0, 12) + "   " + name_));
  EXPECT_THAT(table.out, HasSubstr(" / 64MiB"));

  CommandResult json = Cli({"--json", "stats", "--no-stream", id});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.out;
  EXPECT_EQ(doc.value("memoryLimit", ""), std::to_string(kLimit));

  CommandResult several = Cli({"stats", id, name_});
  EXPECT_NE(several.exit_code, 0);
  EXPECT_THAT(several.err, HasSubstr("add --no-stream"));
}

}  // namespace
}  // namespace dockline::testing
