// Hostile container and exec references against the real daemon (issue 9 point 5): dockline talks
// to dockerd through a recording Unix-socket proxy, every RPC that takes a reference is sent each
// id, and the answer must be INVALID_ARGUMENT (naming the field) or the daemon's NOT_FOUND, while
// the daemon saw nothing but /_ping, /version and that RPC's own endpoints with the id as one
// escaped path segment. dockerd unescapes paths before routing and redirects to the cleaned path,
// so an id that escaped its segment would show up here as another endpoint.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "engine/url.h"
#include "harness.h"
#include "recording_proxy.h"
#include "request_path_cases.h"

namespace dockline::testing {
namespace {

// The path of a recorded "METHOD target", without the query and the "/v1.xx" prefix.
std::string RecordedPath(const std::string& request) {
  size_t space = request.find(' ');
  std::string target = space == std::string::npos ? request : request.substr(space + 1);
  target = target.substr(0, target.find('?'));
  static const std::regex kVersioned(R"(^/v[0-9]+\.[0-9]+(/.*)$)");
  std::smatch m;
  return std::regex_match(target, m, kVersioned) ? m[1].str() : target;
}

// The engine's own traffic, which may come at any time: negotiation and the health probe.
bool IsEngineHousekeeping(const std::string& path) {
  return path == "/_ping" || path == "/version";
}

// A docklined of its own whose daemon is the recording proxy in front of the test engine.
class RequestPathsTest : public DaemonTest {
 public:
  static void SetUpTestSuite() {
    DaemonTest::SetUpTestSuite();
    if (HasFatalFailure()) {
      return;
    }
    const char* host = std::getenv("DOCKER_HOST");
    std::string upstream = host != nullptr ? host : "unix:///var/run/docker.sock";
    ASSERT_TRUE(upstream.starts_with("unix://")) << "the proxy speaks Unix sockets: " << upstream;
    dir_ = new TempDir();
    proxy_ = new RecordingProxy(dir_->path() + "/proxy.sock", upstream.substr(7));
    ASSERT_TRUE(proxy_->listening()) << "no proxy socket in " << dir_->path();
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.docker_host = proxy_->address();
    auto server = server::DocklineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    proxied_ = std::move(server.value());
  }

  static void TearDownTestSuite() {
    if (proxied_) {
      proxied_->Shutdown(std::chrono::milliseconds(2000));
      proxied_.reset();
    }
    delete proxy_;
    proxy_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    DaemonTest::TearDownTestSuite();
  }

 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    ASSERT_TRUE(proxied_) << "the proxied server did not start";
    proxied_stub_ = v1::Dockline::NewStub(
        grpc::CreateChannel(proxied_->address(), grpc::InsecureChannelCredentials()));
  }

  static TempDir* dir_;
  static RecordingProxy* proxy_;
  static std::unique_ptr<server::DocklineServer> proxied_;
  std::unique_ptr<v1::Dockline::Stub> proxied_stub_;
};

TempDir* RequestPathsTest::dir_ = nullptr;
RecordingProxy* RequestPathsTest::proxy_ = nullptr;
std::unique_ptr<server::DocklineServer> RequestPathsTest::proxied_;

TEST_F(RequestPathsTest, HostileIdsReachOnlyTheirEndpointAsOneEscapedSegment) {
  for (const RpcCase& rpc : RpcCases()) {
    for (const IdCase& c : IdCases()) {
      std::string escaped = engine::UrlEncode(c.id);
      SCOPED_TRACE(std::string(rpc.name) + " with id \"" + escaped.substr(0, 60) + "\"");
      size_t before = proxy_->Requests().size();
      auto ctx = Context();
      grpc::Status st = rpc.call(*proxied_stub_, ctx.get(), c.id);
      std::vector<std::string> requests = proxy_->Requests();
      std::string endpoint = std::string(rpc.collection) + "/" + escaped;
      bool reached_endpoint = false;
      for (size_t i = before; i < requests.size(); ++i) {
        const std::string& request = requests[i];
        std::string path = RecordedPath(request);
        if (IsEngineHousekeeping(path) || (rpc.events && path == "/events")) {
          continue;
        }
        // A refused id reaches nothing; any other only this RPC's endpoints, escaped as is.
        bool own = !c.refused && path.starts_with(endpoint) &&
                   std::find(rpc.suffixes.begin(), rpc.suffixes.end(),
                             path.substr(endpoint.size())) != rpc.suffixes.end();
        EXPECT_TRUE(own) << "the daemon saw " << request.substr(0, 160);
        reached_endpoint = reached_endpoint || own;
      }
      if (c.refused) {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
        EXPECT_TRUE(st.error_message().starts_with(std::string(rpc.field) + ": "))
            << st.error_message();
      } else {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
        EXPECT_TRUE(reached_endpoint) << "the NOT_FOUND did not come from the daemon";
      }
    }
  }
  // The proxy parsed everything it relayed.
  for (const std::string& request : proxy_->Requests()) {
    EXPECT_FALSE(request.starts_with("unparsed")) << request;
  }
}

TEST_F(RequestPathsTest, ARealNameGoesThroughAsItIs) {
  // The control: the proxy sees dockline's requests, and a name needs no escaping.
  v1::ContainerSpec spec = Spec({"true"});
  std::string name = UniqueName("paths");
  spec.set_name(name);
  v1::CreateContainerRequest create;
  *create.mutable_spec() = spec;
  v1::CreateContainerResponse created;
  auto ctx = Context();
  ASSERT_TRUE(proxied_stub_->CreateContainer(ctx.get(), create, &created).ok());
  size_t before = proxy_->Requests().size();
  v1::InspectContainerRequest inspect;
  inspect.set_container(name);
  v1::InspectContainerResponse inspected;
  ctx = Context();
  grpc::Status st = proxied_stub_->InspectContainer(ctx.get(), inspect, &inspected);
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::vector<std::string> requests = proxy_->Requests();
  std::vector<std::string> paths;
  for (size_t i = before; i < requests.size(); ++i) {
    if (!IsEngineHousekeeping(RecordedPath(requests[i]))) {
      paths.push_back(requests[i].substr(0, requests[i].find(' ')) + " " +
                      RecordedPath(requests[i]));
    }
  }
  EXPECT_EQ(paths, std::vector<std::string>{"GET /containers/" + name + "/json"});
  v1::RemoveContainerRequest remove;
  remove.set_container(created.id());
  remove.set_force(true);
  v1::RemoveContainerResponse removed;
  ctx = Context();
  EXPECT_TRUE(proxied_stub_->RemoveContainer(ctx.get(), remove, &removed).ok());
}

}  // namespace
}  // namespace dockline::testing
