#pragma once

// PolicyFixture: a docklined in-process with a token file (alice, bob, reader, carol), a policy
// and an audit file in a temporary directory, for the policy, audit, limits and reload tests.
// carol has no entry of her own, so the "*" entry is hers.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "server/auth/tokens.h"
#include "server/server.h"

namespace dockline::testing {

using ::testing::HasSubstr;

inline std::string TokenOf(const std::string& identity) { return identity + "-secret-token"; }

class PolicyFixture : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    std::string tokens;
    for (const char* who : {"alice", "bob", "reader", "carol"}) {
      tokens += std::string(who) +
                " sha256:" + server::auth::DigestHex(server::auth::Sha256(TokenOf(who))) + "\n";
    }
    dir_.Write("tokens", tokens);
    std::filesystem::create_directories(dir_.path() + "/alice/data");
    WritePolicy(DefaultPolicy());
  }

  std::string DefaultPolicy() const {
    return "identities:\n"
           "  alice:\n"
           "    allow: [read, operate, exec, prune]\n"
           "    images: [\"" +
           Image() +
           "\"]\n"
           "    bind_roots: [" +
           dir_.path() +
           "/alice]\n"
           "    exec_commands: [echo, ls]\n"
           "    owned: true\n"
           "  bob:\n"
           "    allow: [read, operate, exec, prune]\n"
           "    owned: true\n"
           "  reader:\n"
           "    allow: [read]\n"
           "  \"*\":\n"
           "    allow: [GetEngineInfo]\n";
  }
  void WritePolicy(const std::string& text) const { dir_.Write("policy.yaml", text); }

  server::ServerOptions Options() const {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
    options.tokens_file = dir_.path() + "/tokens";
    options.policy_file = dir_.path() + "/policy.yaml";
    options.audit_file = dir_.path() + "/audit.log";
    return options;
  }
  void Start(const server::ServerOptions& options) {
    auto server = server::DocklineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    dockline_ = std::move(server.value());
    client_ = v1::Dockline::NewStub(
        grpc::CreateChannel(dockline_->address(), grpc::InsecureChannelCredentials()));
  }
  void Start() { Start(Options()); }

  // A context carrying `identity`'s token ("" for none: the caller is `local`).
  static std::unique_ptr<grpc::ClientContext> As(const std::string& identity) {
    auto ctx = Context(std::chrono::seconds(30));
    if (!identity.empty()) {
      ctx->AddMetadata("authorization", "Bearer " + TokenOf(identity));
    }
    return ctx;
  }
  v1::ContainerSpec NamedSpec(std::vector<std::string> command) {
    v1::ContainerSpec spec = Spec(std::move(command));
    spec.set_name(UniqueName("policy"));
    (*spec.mutable_labels())[kTestLabel] = test_label_;
    return spec;
  }
  grpc::Status CreateAs(const std::string& identity, const v1::ContainerSpec& spec,
                        std::string* id = nullptr) {
    v1::CreateContainerRequest req;
    *req.mutable_spec() = spec;
    v1::CreateContainerResponse resp;
    grpc::Status st = client_->CreateContainer(As(identity).get(), req, &resp);
    if (id != nullptr) {
      *id = resp.id();
    }
    return st;
  }
  grpc::Status StartAs(const std::string& identity, const std::string& container) {
    v1::StartContainerRequest req;
    req.set_container(container);
    v1::StartContainerResponse resp;
    return client_->StartContainer(As(identity).get(), req, &resp);
  }
  grpc::Status InspectAs(const std::string& identity, const std::string& container) {
    v1::InspectContainerRequest req;
    req.set_container(container);
    v1::InspectContainerResponse resp;
    return client_->InspectContainer(As(identity).get(), req, &resp);
  }
  std::vector<std::string> ListAs(const std::string& identity) {
    v1::ListContainersRequest req;
    req.set_all(true);
    auto* filter = req.add_filters();
    filter->set_key("label");
    filter->set_value(std::string(kTestLabel) + "=" + test_label_);
    v1::ListContainersResponse resp;
    grpc::Status st = client_->ListContainers(As(identity).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> ids;
    for (const auto& c : resp.containers()) {
      ids.push_back(c.id());
    }
    return ids;
  }
  std::vector<nlohmann::json> AuditLines() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(dir_.Read("audit.log"));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << line;
      lines.push_back(j);
    }
    return lines;
  }
  // The audit line of `rpc` whose `key` is `value`; null when there is none.
  nlohmann::json FindAudit(const std::string& rpc, const std::string& key,
                           const std::string& value) const {
    for (const auto& line : AuditLines()) {
      if (line.value("rpc", "") == rpc && line.value(key, "") == value) {
        return line;
      }
    }
    return nullptr;
  }

  // Each test's containers carry this too, so that listings and prunes see only that test's.
  static constexpr char kTestLabel[] = "dockline-policy-test";
  const std::string test_label_ = UniqueLabelValue();
  TempDir dir_;
  std::unique_ptr<server::DocklineServer> dockline_;
  std::unique_ptr<v1::Dockline::Stub> client_;
};

}  // namespace dockline::testing
