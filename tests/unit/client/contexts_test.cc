#include "client/contexts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "unit/client/cli/parse_args.h"

namespace dockline::client {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

class ContextsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dockline-contexts-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The umask must not decide what others may read.
    old_umask_ = umask(0);
  }
  void TearDown() override {
    umask(old_umask_);
    fs::remove_all(dir_);
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), 0644);
    return path;
  }
  static int Mode(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  }
  EnvGetter Env(std::map<std::string, std::string> extra = {}) {
    extra.emplace("XDG_CONFIG_HOME", dir_ + "/config");
    return testing::FakeEnv(extra);
  }
  ContextStore Store() { return ContextStore::ForUser(Env()).value; }

  std::string dir_;
  mode_t old_umask_ = 0;
};

TEST_F(ContextsTest, TheStoreFollowsXdgThenHome) {
  EXPECT_EQ(Store().root(), dir_ + "/config/dockline");
  EXPECT_EQ(ContextStore::ForUser(testing::FakeEnv({{"HOME", "/home/u"}})).value.root(),
            "/home/u/.config/dockline");
  // A relative XDG_CONFIG_HOME is to be ignored.
  EXPECT_EQ(ContextStore::ForUser(testing::FakeEnv({{"HOME", "/h"}, {"XDG_CONFIG_HOME", "rel"}}))
                .value.root(),
            "/h/.config/dockline");
  EXPECT_FALSE(ContextStore::ForUser(testing::FakeEnv({})).ok());
}

TEST_F(ContextsTest, CreateCopiesSecretsReadableByTheUserAlone) {
  ContextStore store = Store();
  ContextSpec spec;
  spec.name = "prod-1";
  spec.address = "dockhost.example:50051";
  spec.description = "the prod host";
  spec.tls_ca = Write("ca.pem", kPem);
  spec.tls_cert = Write("cert.pem", kPem);
  spec.tls_key = Write("key.pem", kPem);
  spec.tls_server_name = "dockhost.example";
  spec.token_file = Write("token", "s3cret\n");
  auto created = store.Create(spec);
  ASSERT_TRUE(created.ok()) << created.status.error_message();
  const ContextEndpoint& c = created.value;
  EXPECT_EQ(c.name, "prod-1");
  EXPECT_EQ(c.address, "dockhost.example:50051");
  EXPECT_EQ(c.description, "the prod host");
  EXPECT_TRUE(c.tls);
  const std::string dir = store.root() + "/contexts/prod-1";
  EXPECT_EQ(c.tls_key, dir + "/key.pem");
  EXPECT_EQ(c.token_file, dir + "/token");
  for (const char* file : {"ca.pem", "cert.pem", "key.pem", "token", "meta.json"}) {
    EXPECT_EQ(Mode(dir + "/" + file), 0600) << file;
  }
  for (const std::string& d : {store.root(), store.root() + "/contexts", dir}) {
    EXPECT_EQ(Mode(d), 0700) << d;
  }
  // The originals may go: the context has its own copies.
  fs::remove(spec.token_file);
  auto options = ContextClientOptions(store.Get("prod-1").value);
  ASSERT_TRUE(options.ok()) << options.status.error_message();
  EXPECT_EQ(options.value.token, "s3cret");  // the editor's newline is not the token's
  ASSERT_TRUE(options.value.tls.has_value());
  EXPECT_EQ(options.value.tls->server_name, "dockhost.example");
  EXPECT_EQ(options.value.tls->private_key_pem, kPem);
  // The metadata holds no secret.
  std::ifstream meta(dir + "/meta.json");
  std::stringstream text;
  text << meta.rdbuf();
  EXPECT_THAT(text.str(), ::testing::Not(HasSubstr("s3cret")));
}

TEST_F(ContextsTest, BadInputNamesWhatIsWrongAndLeavesNothingBehind) {
  ContextStore store = Store();
  ContextSpec spec;
  spec.address = "127.0.0.1:1";
  for (const char* name : {"", "default", "-x", "a/b", "a b", ".."}) {
    spec.name = name;
    auto r = store.Create(spec);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_THAT(r.status.error_message(), HasSubstr("context name")) << name;
  }
  spec.name = "ok";
  spec.tls_key = Write("key.pem", kPem);
  EXPECT_THAT(store.Create(spec).status.error_message(), HasSubstr("--tls-key needs --tls-cert"));
  spec.tls_key.clear();
  spec.tls_ca = Write("notpem", "hello");
  EXPECT_THAT(store.Create(spec).status.error_message(), HasSubstr("--tls-ca"));
  spec.tls_ca.clear();
  spec.token_file = dir_ + "/missing";
  EXPECT_THAT(store.Create(spec).status.error_message(), HasSubstr("--token-file"));
  EXPECT_FALSE(fs::exists(store.root() + "/contexts/ok"));
  spec.token_file.clear();
  spec.address.clear();
  EXPECT_THAT(store.Create(spec).status.error_message(), HasSubstr("--addr"));
  spec.address = "127.0.0.1:1";
  ASSERT_TRUE(store.Create(spec).ok());
  EXPECT_EQ(store.Create(spec).status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(store.Get("nope").status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContextsTest, UseListRemoveAndTheOrderOfChoice) {
  ContextStore store = Store();
  for (const char* name : {"b", "a"}) {
    ContextSpec spec;
    spec.name = name;
    spec.address = std::string(name) + ".example:1";
    ASSERT_TRUE(store.Create(spec).ok());
  }
  auto list = store.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list.value.size(), 2u);
  EXPECT_EQ(list.value[0].name, "a");
  EXPECT_EQ(store.Current(), "");
  EXPECT_FALSE(ResolveContext(store, "", Env()).value.has_value());
  ASSERT_TRUE(store.Use("a").ok());
  EXPECT_EQ(store.Current(), "a");
  EXPECT_EQ(Mode(store.root() + "/config.json"), 0600);
  EXPECT_EQ(ResolveContext(store, "", Env()).value->name, "a");
  EXPECT_EQ(ResolveContext(store, "", Env({{"DOCKLINE_CONTEXT", "b"}})).value->name, "b");
  EXPECT_EQ(ResolveContext(store, "a", Env({{"DOCKLINE_CONTEXT", "b"}})).value->name, "a");
  EXPECT_FALSE(ResolveContext(store, "default", Env()).value.has_value());
  EXPECT_EQ(ResolveContext(store, "zz", Env()).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(store.Use("zz").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(store.Remove("a").ok());
  EXPECT_EQ(store.Current(), "");  // removing the current one goes back to default
  EXPECT_EQ(store.List().value.size(), 1u);
  ASSERT_TRUE(store.Use("b").ok());
  ASSERT_TRUE(store.Use("default").ok());
  EXPECT_EQ(store.Current(), "");
}

// The CLI's order: --addr, --context, $DOCKLINE_ADDR, $DOCKLINE_CONTEXT, `context use`.
TEST_F(ContextsTest, TheCliChoosesTheAddressInDockersOrder) {
  ContextStore store = Store();
  for (const char* name : {"one", "two"}) {
    ContextSpec spec;
    spec.name = name;
    spec.address = std::string(name) + ".example:1";
    if (std::string(name) == "two") {
      spec.token_file = Write("token", "tok2");
    }
    ASSERT_TRUE(store.Create(spec).ok());
  }
  auto parse = [&](std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return testing::Parse(std::move(args), Env(std::move(env)));
  };
  EXPECT_EQ(parse({"ps"}).value.address, "127.0.0.1:50051");
  ASSERT_TRUE(store.Use("one").ok());
  EXPECT_EQ(parse({"ps"}).value.address, "one.example:1");
  EXPECT_EQ(parse({"ps"}, {{"DOCKLINE_CONTEXT", "two"}}).value.address, "two.example:1");
  EXPECT_EQ(parse({"ps"}, {{"DOCKLINE_ADDR", "env:1"}, {"DOCKLINE_CONTEXT", "two"}}).value.address,
            "env:1");
  EXPECT_EQ(parse({"--context", "two", "ps"}, {{"DOCKLINE_ADDR", "env:1"}}).value.address,
            "two.example:1");
  EXPECT_EQ(parse({"--addr", "flag:1", "--context", "two", "ps"}).value.address, "flag:1");
  // The token: the flag, else the context's, else the environment's.
  auto with_two = parse({"-c", "two", "ps"}, {{"DOCKLINE_TOKEN", "envtok"}});
  ASSERT_TRUE(with_two.ok());
  auto options = cli::MakeClientOptions(with_two.value);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options.value.token, "tok2");
  auto flagged = parse({"-c", "two", "--token", "flagtok", "ps"});
  EXPECT_EQ(cli::MakeClientOptions(flagged.value).value.token, "flagtok");
  auto plain = parse({"-c", "one", "ps"}, {{"DOCKLINE_TOKEN", "envtok"}});
  EXPECT_EQ(cli::MakeClientOptions(plain.value).value.token, "envtok");
  // A missing context is an error naming it, not a silent default.
  auto missing = parse({"--context", "nope", "ps"});
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.status.error_message(), HasSubstr("nope"));
  // The context commands work whatever the current context is.
  ASSERT_TRUE(store.Use("two").ok());
  fs::remove_all(store.root() + "/contexts/two");
  EXPECT_TRUE(parse({"context", "use", "default"}).ok());
}

}  // namespace
}  // namespace dockline::client
