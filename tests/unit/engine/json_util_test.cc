#include "engine/json_util.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dockline::engine {
namespace {

using nlohmann::json;

// Found by json_fuzz: a float outside int64 was cast (undefined behaviour), and an unsigned
// value above int64's maximum was read as negative (is_number_integer() is true for it too).
TEST(GetIntTest, ValuesOutsideInt64AreTheFallback) {
  const json j = json::parse(
      R"({"big":1e30,"small":-1e30,"u":18446744073709551615,"ok":42,"f":7.9,"neg":-5,
          "max":9223372036854775807,"s":"12"})");
  EXPECT_EQ(GetInt(j, "big", -7), -7);
  EXPECT_EQ(GetInt(j, "small", -7), -7);
  EXPECT_EQ(GetInt(j, "u", -7), -7);
  EXPECT_EQ(GetInt(j, "ok"), 42);
  EXPECT_EQ(GetInt(j, "f"), 7);
  EXPECT_EQ(GetInt(j, "neg"), -5);
  EXPECT_EQ(GetInt(j, "max"), 9223372036854775807LL);
  EXPECT_EQ(GetInt(j, "s", -7), -7);
  EXPECT_EQ(GetInt(j, "absent", -7), -7);
}

}  // namespace
}  // namespace dockline::engine
