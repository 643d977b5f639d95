#include "server/codec/image_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/codec/inspect_codec.h"

namespace dockline {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ImageRefTest, AcceptsReferencesAndIds) {
  for (const char* ok : {"busybox", "busybox:1.36", "127.0.0.1:5000/team/app:v1",
                         "app@sha256:0123456789abcdef", "sha256:0123", "Registry.Example/a_b-c"}) {
    EXPECT_TRUE(server::ValidateImageRef("image", ok).ok()) << ok;
  }
}

TEST(ImageRefTest, RefusalsNameTheFieldAndTheFault) {
  struct Case {
    std::string image;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "image: is required"},
           {"a b", "image: holds a character no image reference has, at byte 1"},
           {"a\nb", "image: holds a character"},
           {"a/../b", "image: has an empty, \".\" or \"..\" path component"},
           {"a//b", "image: has an empty"},
           {"/a", "image: has an empty"},
           {std::string(513, 'a'), "image: is longer than 512 bytes"},
       }) {
    grpc::Status st = server::ValidateImageRef("image", c.image);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.image;
    EXPECT_THAT(st.error_message(), StartsWith(c.message)) << c.image;
  }
}

TEST(ImageRefTest, TaggedReferenceAddsLatestOnlyWithoutTagOrDigest) {
  EXPECT_EQ(server::TaggedReference("busybox"), "busybox:latest");
  EXPECT_EQ(server::TaggedReference("busybox:1.36"), "busybox:1.36");
  EXPECT_EQ(server::TaggedReference("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
  EXPECT_EQ(server::TaggedReference("127.0.0.1:5000/app:v1"), "127.0.0.1:5000/app:v1");
  EXPECT_EQ(server::TaggedReference("app@sha256:abc"), "app@sha256:abc");
}

std::string DecodeUrlBase64(std::string text) {
  for (char& c : text) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  // EVP_DecodeBlock counts the padding as zero bytes.
  while (!out.empty() && out.back() == '\0') {
    out.pop_back();
  }
  return out;
}

TEST(RegistryAuthTest, HeaderIsUrlSafeBase64JsonOfTheSetFields) {
  v1::RegistryAuth auth;
  EXPECT_EQ(server::RegistryAuthHeader(auth), "");
  auth.set_username("u");
  auth.set_password("p?>>>~~");  // bytes whose base64 holds '+' or '/'
  auth.set_server_address("127.0.0.1:5000");
  std::string header = server::RegistryAuthHeader(auth);
  EXPECT_EQ(header.find_first_of("+/"), std::string::npos) << header;
  EXPECT_EQ(
      json::parse(DecodeUrlBase64(header)),
      (json{{"username", "u"}, {"password", "p?>>>~~"}, {"serveraddress", "127.0.0.1:5000"}}));
}

TEST(PullProgressTest, LinesCutAnywhereGiveTheSameProgress) {
  const std::string body =
      "{\"status\":\"Pulling from team/app\",\"id\":\"v1\"}\r\n"
      "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":512,\"total\":2048},"
      "\"progress\":\"[=>  ]\",\"id\":\"a3ed95caeb02\"}\r\n"
      "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\r\n"
      "{\"status\":\"Digest: sha256:feed\"}\r\n";
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    server::PullProgressParser parser;
    std::vector<v1::PullProgress> seen;
    auto sink = [&](v1::PullProgress&& p) { seen.push_back(std::move(p)); };
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(0, cut), sink).ok());
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(cut), sink).ok());
    ASSERT_TRUE(parser.Finish().ok());
    ASSERT_EQ(seen.size(), 4u) << cut;
    EXPECT_EQ(seen[0].id(), "v1");
    EXPECT_EQ(seen[1].status(), "Downloading");
    EXPECT_EQ(seen[1].current(), 512);
    EXPECT_EQ(seen[1].total(), 2048);
    EXPECT_EQ(seen[2].status(), "Pull complete");
    EXPECT_EQ(seen[2].total(), 0);
    EXPECT_EQ(parser.digest(), "sha256:feed");
  }
}

TEST(PullProgressTest, AnErrorLineIsThePullsStatus) {
  server::PullProgressParser parser;
  int seen = 0;
  engine::Status st = parser.Feed(
      "{\"status\":\"Pulling fs layer\",\"id\":\"x\"}\n"
      "{\"errorDetail\":{\"message\":\"manifest for a:1 not found: manifest unknown\"},"
      "\"error\":\"manifest for a:1 not found\"}\n{\"status\":\"never read\"}\n",
      [&](v1::PullProgress&&) { ++seen; });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(st.code(), engine::Code::kNotFound);
  EXPECT_EQ(st.message(), "manifest for a:1 not found: manifest unknown");

  server::PullProgressParser other;
  st = other.Feed("{\"error\":\"unexpected EOF\"}\n", [](v1::PullProgress&&) {});
  EXPECT_EQ(st.code(), engine::Code::kDaemonError);
  EXPECT_EQ(st.message(), "unexpected EOF");
}

TEST(PullProgressTest, GarbageAndACutLastLineAreProtocolErrors) {
  server::PullProgressParser parser;
  EXPECT_EQ(parser.Feed("not json\n", [](v1::PullProgress&&) {}).code(),
            engine::Code::kProtocolError);

  server::PullProgressParser cut;
  ASSERT_TRUE(cut.Feed("{\"status\":\"Down", [](v1::PullProgress&&) {}).ok());
  EXPECT_EQ(cut.Finish().code(), engine::Code::kProtocolError);

  server::PullProgressParser huge;
  std::string line(2 << 20, 'x');
  EXPECT_EQ(huge.Feed(line, [](v1::PullProgress&&) {}).code(), engine::Code::kProtocolError);
}

TEST(ImageDocumentTest, InspectAndSummaryReadWhatTheDaemonSends) {
  json inspect = {{"Id", "sha256:abc"},
                  {"RepoTags", {"app:v1"}},
                  {"RepoDigests", {"app@sha256:def"}},
                  {"Created", "2026-11-27T00:01:44.254699673Z"},
                  {"Size", 4096},
                  {"Os", "linux"},
                  {"Architecture", "amd64"},
                  {"Config",
                   {{"Cmd", {"sh"}},
                    {"Entrypoint", nullptr},
                    {"Env", {"PATH=/bin"}},
                    {"Labels", {{"a", "b"}}},
                    {"WorkingDir", "/w"},
                    {"User", "1000"}}}};
  v1::ImageInfo info;
  server::ImageInfoFromJson(inspect, &info);
  EXPECT_EQ(info.id(), "sha256:abc");
  EXPECT_EQ(info.repo_tags(0), "app:v1");
  EXPECT_EQ(info.repo_digests(0), "app@sha256:def");
  EXPECT_EQ(info.created().seconds(), 1795737704);
  EXPECT_EQ(info.size(), 4096);
  EXPECT_EQ(info.architecture(), "amd64");
  EXPECT_EQ(info.command(0), "sh");
  EXPECT_EQ(info.entrypoint_size(), 0);
  EXPECT_EQ(info.labels().at("a"), "b");
  EXPECT_EQ(info.working_dir(), "/w");
  EXPECT_EQ(info.user(), "1000");

  // Wrongly typed fields are left at their defaults; the rest is still read.
  v1::ImageSummary summary;
  server::ImageSummaryFromJson(
      {{"Id", "sha256:abc"}, {"RepoTags", nullptr}, {"Created", 1700000000}, {"Size", "big"}},
      &summary);
  EXPECT_EQ(summary.id(), "sha256:abc");
  EXPECT_EQ(summary.repo_tags_size(), 0);
  EXPECT_EQ(summary.created().seconds(), 1700000000);
  EXPECT_EQ(summary.size(), 0);
  EXPECT_EQ(summary.containers(), -1);
}

}  // namespace
}  // namespace dockline
