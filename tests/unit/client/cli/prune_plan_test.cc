// `dockline prune --plan / --apply`: parsing, the plan file, and the report of what was skipped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/cli/cli.h"
#include "client/cli/prune.h"

namespace dockline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(PrunePlanCliTest, PlanIsADryRunAndApplyStandsAlone) {
  auto plan = cli::ParseArgs({"prune", "volumes", "--filter", "label=a", "--plan"});
  ASSERT_TRUE(plan.ok()) << plan.status.error_message();
  EXPECT_TRUE(plan.value.prune.plan);
  EXPECT_TRUE(plan.value.prune.options.dry_run);

  auto apply = cli::ParseArgs({"prune", "images", "--apply", "plan.json"});
  ASSERT_TRUE(apply.ok()) << apply.status.error_message();
  EXPECT_EQ(apply.value.prune.apply_file, "plan.json");
  EXPECT_FALSE(apply.value.prune.options.dry_run);

  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--plan"}, {"--dry-run"}, {"--all"}, {"--filter", "label=a"}}) {
    std::vector<std::string> args = {"prune", "images", "--apply", "plan.json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto refused = cli::ParseArgs(args);
    EXPECT_FALSE(refused.ok()) << extra.front();
    EXPECT_THAT(refused.status.error_message(), HasSubstr("--apply takes no")) << extra.front();
  }
}

TEST(PrunePlanCliTest, TheFilesItemsAreWhatIsAppliedItsTokenOnlyWithoutThem) {
  client::PruneOptions options;
  ASSERT_TRUE(cli::ReadPlanFile(R"({"items":[{"id":"a","name":"x","size":"3"},{"id":"b"}],
                                   "token":"dlplan1.e30="})",
                                &options)
                  .ok());
  EXPECT_THAT(options.apply_ids, ElementsAre("a", "b"));
  EXPECT_EQ(options.apply_plan, "");

  client::PruneOptions empty;
  ASSERT_TRUE(cli::ReadPlanFile(R"({"token":"dlplan1.e30="})", &empty).ok());
  EXPECT_THAT(empty.apply_ids, IsEmpty());
  EXPECT_EQ(empty.apply_plan, "dlplan1.e30=");

  client::PruneOptions bad;
  EXPECT_THAT(cli::ReadPlanFile("{}", &bad).error_message(), HasSubstr("no items and no token"));
  EXPECT_THAT(cli::ReadPlanFile("[1]", &bad).error_message(),
              HasSubstr("not a plan from prune --plan"));
  EXPECT_THAT(cli::ReadPlanFile(R"({"items":[{"identifier":"a"}]})", &bad).error_message(),
              HasSubstr("not a plan from prune --plan"));
}

TEST(PrunePlanCliTest, SkippedLinesSayWhy) {
  google::protobuf::RepeatedPtrField<v1::PruneSkipped> skipped;
  EXPECT_EQ(cli::FormatSkipped(skipped), "");
  v1::PruneSkipped* gone = skipped.Add();
  gone->set_id("abc");
  gone->set_reason(v1::PRUNE_SKIP_REASON_GONE);
  v1::PruneSkipped* used = skipped.Add();
  used->set_id("vol");
  used->set_reason(v1::PRUNE_SKIP_REASON_IN_USE);
  used->set_detail("remove vol: volume is in use");
  EXPECT_EQ(cli::FormatSkipped(skipped),
            "\nSkipped:\nabc  gone\nvol  in use: remove vol: volume is in use\n");
}

}  // namespace
}  // namespace dockline
