// Prune plan tokens (server/codec/prune_codec.h) and the base64url they are made of
// (server/codec/base64url.h).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/codec/base64url.h"
#include "server/codec/prune_codec.h"

namespace dockline {
namespace {

using server::PruneKind;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

v1::PruneApply Plan(const std::string& token) {
  v1::PruneApply apply;
  apply.set_plan(token);
  return apply;
}

TEST(Base64UrlTest, RoundTripsInTheUrlAlphabetPaddedOrNot) {
  // 0xfb 0xff: "+/" in the standard alphabet.
  const std::string bytes("\xfb\xff\x00 tail", 8);
  std::string text = server::Base64UrlEncode(bytes);
  EXPECT_EQ(text, "-_8AIHRhaWw=");
  EXPECT_EQ(server::Base64UrlDecode(text), bytes);
  EXPECT_EQ(server::Base64UrlDecode("-_8AIHRhaWw"), bytes);
  EXPECT_EQ(server::Base64UrlDecode(""), std::string());
  EXPECT_EQ(server::Base64UrlDecode("+/8AIHRhaWw="), std::nullopt) << "standard alphabet";
  EXPECT_EQ(server::Base64UrlDecode("!!!!"), std::nullopt);
  EXPECT_EQ(server::Base64UrlDecode("===="), std::nullopt);
}

TEST(PlanTokenTest, CarriesItsIdsAndItsKind) {
  std::string token = server::EncodePrunePlanToken(PruneKind::kContainers, {"a1", "b2"});
  EXPECT_THAT(token, StartsWith("dlplan1."));
  std::vector<std::string> ids;
  ASSERT_TRUE(server::PruneApplyIds(PruneKind::kContainers, Plan(token), &ids).ok());
  EXPECT_THAT(ids, ElementsAre("a1", "b2"));

  grpc::Status other = server::PruneApplyIds(PruneKind::kVolumes, Plan(token), &ids);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(other.error_message(), "apply.plan: a plan for containers, not for volumes");

  // A plan of nothing is a plan: applying it removes nothing.
  std::string empty = server::EncodePrunePlanToken(PruneKind::kNetworks, {});
  ASSERT_TRUE(server::PruneApplyIds(PruneKind::kNetworks, Plan(empty), &ids).ok());
  EXPECT_THAT(ids, IsEmpty());
}

TEST(PlanTokenTest, DamagedTokensAndBadIdsNameTheField) {
  std::vector<std::string> ids;
  auto refused = [&](const v1::PruneApply& apply) {
    grpc::Status st = server::PruneApplyIds(PruneKind::kImages, apply, &ids);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return st.error_message();
  };
  EXPECT_THAT(refused(Plan("")), StartsWith("apply.plan: not a prune plan token"));
  EXPECT_THAT(refused(Plan("dlplan1.%%%")), StartsWith("apply.plan: a damaged"));
  EXPECT_THAT(refused(Plan("dlplan1." + server::Base64UrlEncode("[1,2]"))),
              StartsWith("apply.plan: a damaged"));
  EXPECT_THAT(
      refused(Plan("dlplan1." + server::Base64UrlEncode(R"({"kind":"images","ids":["a",7]})"))),
      StartsWith("apply.plan: a damaged prune plan token (an id is not a string)"));
  EXPECT_THAT(
      refused(Plan("dlplan1." + server::Base64UrlEncode(R"({"kind":"images","ids":["a",""]})"))),
      StartsWith("apply.plan: not an id or name"));
  EXPECT_THAT(refused(v1::PruneApply()), StartsWith("apply: set plan"));

  v1::PruneApply list;
  list.mutable_ids();
  EXPECT_THAT(refused(list), StartsWith("apply.ids: empty"));
  list.mutable_ids()->add_ids("ok");
  list.mutable_ids()->add_ids(std::string(300, 'a'));
  EXPECT_THAT(refused(list), StartsWith("apply.ids[1]: not an id or name"));
}

}  // namespace
}  // namespace dockline
