#include "server/codec/events_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dockline::server {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Filter* Add(v1::WatchEventsRequest* request, const char* key, const char* value) {
  v1::Filter* filter = request->add_filters();
  filter->set_key(key);
  filter->set_value(value);
  return filter;
}

TEST(EventsQueryTest, DockersFiltersAndAWindowReachTheDaemon) {
  v1::WatchEventsRequest request;
  Add(&request, "type", "container");
  Add(&request, "event", "start");
  Add(&request, "event", "die");
  Add(&request, "label", "team=a");
  request.mutable_since()->set_seconds(1796295600);
  request.mutable_since()->set_nanos(5);
  request.mutable_until()->set_seconds(1796295660);
  engine::EventsQuery query;
  ASSERT_TRUE(EventsQueryFromRequest(request, &query).ok());
  EXPECT_EQ(query.filters,
            json({{"type", {"container"}}, {"event", {"start", "die"}}, {"label", {"team=a"}}}));
  EXPECT_EQ(query.since, "1796295600.000000005");
  EXPECT_EQ(query.until, "1796295660.000000000");

  engine::EventsQuery open;
  ASSERT_TRUE(EventsQueryFromRequest(v1::WatchEventsRequest(), &open).ok());
  EXPECT_TRUE(open.filters.empty());
  EXPECT_EQ(open.since, "");
  EXPECT_EQ(open.until, "");
}

TEST(EventsQueryTest, AnUnknownKeyOrABackwardWindowNamesTheField) {
  v1::WatchEventsRequest request;
  Add(&request, "type", "container");
  Add(&request, "label", "a");
  Add(&request, "colour", "red");
  engine::EventsQuery query;
  grpc::Status st = EventsQueryFromRequest(request, &query);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "filters[2].key: \"colour\" is not an events filter (container, event, image, label, "
            "type, volume, network, daemon, plugin, node, service, secret, config, scope)");

  v1::WatchEventsRequest backward;
  backward.mutable_since()->set_seconds(20);
  backward.mutable_until()->set_seconds(10);
  st = EventsQueryFromRequest(backward, &query);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), StartsWith("since: must not be after until"));

  v1::WatchEventsRequest negative;
  negative.mutable_until()->set_seconds(-1);
  st = EventsQueryFromRequest(negative, &query);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("until: "));
}

}  // namespace
}  // namespace dockline::server
