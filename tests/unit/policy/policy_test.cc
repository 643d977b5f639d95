#include "server/policy/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "dockline/v1/dockline.grpc.pb.h"

namespace dockline::server::policy {
namespace {

using nlohmann::json;

class TempFile {
 public:
  TempFile(const std::string& suffix, const std::string& text) {
    char dir[] = "/tmp/dockline-policy-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/policy" + suffix;
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  void Write(const std::string& text) const { std::ofstream(path_, std::ios::trunc) << text; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(RpcGroupsTest, EveryDocklineRpcIsInExactlyOneGroup) {
  const auto* service =
      v1::CreateContainerRequest::descriptor()->file()->FindServiceByName("Dockline");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    int groups = 0;
    for (const auto& [group, rpcs] : RpcGroups()) {
      for (const auto& rpc : rpcs) {
        groups += rpc == name ? 1 : 0;
      }
    }
    EXPECT_EQ(groups, 1) << name;
  }
}

TEST(RpcGroupsTest, TheGroupsHoldWhatTheIssueSays) {
  EXPECT_EQ(GroupOf("StreamLogs"), "read");
  EXPECT_EQ(GroupOf("GetEngineInfo"), "read");
  EXPECT_EQ(GroupOf("WaitContainer"), "read");
  EXPECT_EQ(GroupOf("WatchEvents"), "read");
  EXPECT_EQ(GroupOf("RunContainer"), "operate");
  EXPECT_EQ(GroupOf("RemoveContainer"), "operate");
  EXPECT_EQ(GroupOf("CopyFromContainer"), "read");
  EXPECT_EQ(GroupOf("CopyToContainer"), "operate");
  EXPECT_EQ(GroupOf("AttachExec"), "exec");
  EXPECT_EQ(GroupOf("AttachContainer"), "read");
  EXPECT_EQ(GroupOf("PruneVolumes"), "prune");
  EXPECT_EQ(GroupOf("NoSuchRpc"), "");
}

TEST(PolicyTest, WithoutAPolicyNothingIsEnforced) {
  auto policy = Policy::AllowAll();
  EXPECT_FALSE(policy->enforcing());
  EXPECT_EQ(policy->For("anyone"), nullptr);
}

TEST(PolicyTest, GroupsAndSingleRpcsExpandAndAnIdentityFallsBackToStar) {
  auto policy = Policy::FromJson(json::parse(R"({"identities": {
      "ci": {"allow": ["read", "ExecContainer"], "owned": true},
      "*": {"allow": ["GetEngineInfo"]}}})"));
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  auto ci = policy.value()->For("ci");
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(ci->entry, "ci");
  EXPECT_TRUE(ci->rpcs.count("StreamLogs"));
  EXPECT_TRUE(ci->rpcs.count("ExecContainer"));
  EXPECT_FALSE(ci->rpcs.count("StreamExec"));
  EXPECT_TRUE(ci->owned);
  auto other = policy.value()->For("someone-else");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->entry, "*");
  EXPECT_EQ(other->rpcs, std::set<std::string>{"GetEngineInfo"});
}

TEST(PolicyTest, AnIdentityWithoutAnEntryAndNoStarGetsNothing) {
  auto policy = Policy::FromJson(json::parse(R"({"identities": {"ci": {"allow": ["read"]}}})"));
  ASSERT_TRUE(policy.ok());
  auto rules = policy.value()->For("local");
  ASSERT_NE(rules, nullptr);
  EXPECT_TRUE(rules->rpcs.empty());
  EXPECT_EQ(rules->entry, "");
}

TEST(PolicyTest, MistakesAreErrorsNamingWhere) {
  struct Case {
    const char* doc;
    const char* wanted;
  };
  for (const Case& c : {
           Case{R"({"identities": {"ci": {"allow": ["reed"]}}})",
                "identities.ci.allow: \"reed\" is neither a group"},
           Case{R"({"identities": {"ci": {"alow": ["read"]}}})",
                "identities.ci.alow: unknown rule"},
           Case{R"({"identities": {"ci": {"bind_roots": ["srv"]}}})",
                "identities.ci.bind_roots: \"srv\" is not an absolute path"},
           Case{R"({"identities": {"ci": {"images": "alpine"}}})",
                "identities.ci.images: must be a list of strings"},
           Case{R"({"identities": {"ci": {"owned": "yes"}}})",
                "identities.ci.owned: must be true or false"},
           Case{R"({"identities": {}})", "identities: must map at least one identity"},
           Case{R"({"identitys": {}})", "identitys: unknown key"},
           Case{R"([1])", "must be a mapping"},
       }) {
    auto policy = Policy::FromJson(json::parse(c.doc));
    ASSERT_FALSE(policy.ok()) << c.doc;
    EXPECT_NE(policy.status().message().find(c.wanted), std::string::npos)
        << c.doc << " -> " << policy.status().message();
  }
}

TEST(PolicyTest, YamlAndJsonFilesReadTheSame) {
  TempFile yaml(".yaml", R"(
identities:
  ci:
    allow: [read, operate]
    images: ["alpine:*"]
    bind_roots: [/srv/ci/]
    exec_privileged: false
    owned: true
)");
  TempFile json_file(".json", R"({"identities": {"ci": {"allow": ["read", "operate"],
      "images": ["alpine:*"], "bind_roots": ["/srv/ci/"], "exec_privileged": false,
      "owned": true}}})");
  for (const auto* file : {&yaml, &json_file}) {
    auto policy = Policy::Load(file->path());
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    auto ci = policy.value()->For("ci");
    EXPECT_EQ(ci->rpcs.size(), 24u);  // read (16) and operate (8)
    ASSERT_TRUE(ci->images.has_value());
    EXPECT_EQ(*ci->images, std::vector<std::string>{"alpine:*"});
    EXPECT_EQ(ci->bind_roots, std::vector<std::string>{"/srv/ci"});
    EXPECT_TRUE(ci->owned);
  }
}

TEST(PolicyTest, BadFilesSayWhichFileAndWhy) {
  TempFile yaml(".yaml", "identities: [unclosed\n");
  auto policy = Policy::Load(yaml.path());
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find(yaml.path() + ": not valid YAML"), std::string::npos)
      << policy.status().message();
  TempFile json_file(".json", "{");
  policy = Policy::Load(json_file.path());
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(Policy::Load("/nonexistent/policy.yaml").ok());
}

TEST(PolicyStoreTest, ReloadSwapsAGoodFileAndKeepsTheOldPolicyOnABadOne) {
  TempFile file(".yaml", "identities:\n  ci:\n    allow: [read]\n");
  auto first = Policy::Load(file.path());
  ASSERT_TRUE(first.ok());
  std::shared_ptr<PolicyStore> held = MakePolicyStore(first.value(), file.path());
  PolicyStore& store = *held;
  auto before = store.Current();

  file.Write("identities:\n  ci:\n    allow: [read, prune]\n");
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_NE(store.Current(), before);
  EXPECT_TRUE(store.Current()->For("ci")->rpcs.count("PruneImages"));

  auto good = store.Current();
  file.Write("identities:\n  ci:\n    allow: [everything]\n");
  engine::Status st = store.Reload();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("everything"), std::string::npos) << st.message();
  EXPECT_EQ(store.Current(), good);
  // A reader that took the old policy keeps a valid one.
  EXPECT_TRUE(before->For("ci")->rpcs.count("StreamLogs"));
}

}  // namespace
}  // namespace dockline::server::policy
