#pragma once

// ExecTest: the fixture the exec integration tests share (exec_unary_test.cc,
// exec_stream_test.cc, exec_attach_test.cc, exec_cli_test.cc). Each exec is checked against the
// real daemon's own view of it (GET /exec/{id}/json).

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"

namespace dockline::testing {

class ExecTest : public DaemonTest {
 public:
  static constexpr std::chrono::seconds kGenerous{30};  // catches hangs only

 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    big_ = BigStub(ServerAddress());
  }

  // ExecContainer replies can be larger than gRPC's 4 MiB default.
  static std::unique_ptr<v1::Dockline::Stub> BigStub(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(128 << 20);
    return v1::Dockline::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }

  std::string Running() { return CreateAndStart(Spec({"sleep", "3600"})); }

  static v1::ExecConfig Config(const std::string& container, std::vector<std::string> cmd) {
    v1::ExecConfig config;
    config.set_container(container);
    for (auto& arg : cmd) {
      config.add_cmd(arg);
    }
    return config;
  }

  struct Captured {
    grpc::Status status;
    v1::ExecContainerResponse resp;
  };
  Captured Exec(const v1::ExecConfig& config, bool demux = false,
                v1::Dockline::Stub* stub = nullptr) {
    v1::ExecContainerRequest req;
    *req.mutable_config() = config;
    req.set_demux(demux);
    Captured out;
    auto ctx = Context(std::chrono::seconds(120));
    out.status = (stub != nullptr ? stub : big_.get())->ExecContainer(ctx.get(), req, &out.resp);
    return out;
  }

  struct Streamed {
    grpc::Status status;
    std::string exec_id;
    std::string out;
    std::string err;
    int exit_code = -1;
    bool exited = false;
    // One letter per message: 'i' exec id, 'o' output, 'x' exited.
    std::string sequence;
    std::vector<v1::OutputChunk> chunks;
  };
  Streamed Stream(const v1::ExecConfig& config) {
    Streamed s;
    v1::StreamExecRequest req;
    *req.mutable_config() = config;
    auto ctx = Context(std::chrono::seconds(240));
    auto reader = stub().StreamExec(ctx.get(), req);
    v1::StreamExecResponse msg;
    while (reader->Read(&msg)) {
      if (!msg.exec_id().empty()) {
        s.sequence.push_back('i');
        s.exec_id = msg.exec_id();
      } else if (msg.has_output()) {
        s.sequence.push_back('o');
        (msg.output().stream() == v1::STREAM_STDERR ? s.err : s.out) += msg.output().data();
        s.chunks.push_back(std::move(*msg.mutable_output()));
      } else if (msg.has_exited()) {
        s.sequence.push_back('x');
        s.exited = true;
        s.exit_code = msg.exited().exit_code();
      } else {
        s.sequence.push_back('?');
      }
    }
    s.status = reader->Finish();
    return s;
  }

  // The daemon's own view of an exec (null when it does not know the id).
  static nlohmann::json DaemonExec(const std::string& exec_id) {
    auto res = Daemon(engine::ApiRequest("GET", "/exec/" + exec_id + "/json"));
    if (!res.ok()) {
      return nullptr;
    }
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  // This process's Unix-socket descriptors: the in-process server's engine connections to the
  // daemon (the test's own gRPC traffic is TCP). Each test runs in its own process.
  static int UnixSocketFds() {
    std::set<std::string> unix_inodes;
    std::ifstream net("/proc/net/unix");
    std::string line;
    std::getline(net, line);
    while (std::getline(net, line)) {
      std::istringstream fields(line);
      std::string num, refcount, protocol, flags, type, st, inode;
      fields >> num >> refcount >> protocol >> flags >> type >> st >> inode;
      unix_inodes.insert(inode);
    }
    int count = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
      return -1;
    }
    while (dirent* entry = readdir(dir)) {
      char target[256] = {};
      std::string path = std::string("/proc/self/fd/") + entry->d_name;
      ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
      if (n <= 0) {
        continue;
      }
      std::string t(target, static_cast<size_t>(n));
      if (t.rfind("socket:[", 0) == 0 && unix_inodes.count(t.substr(8, t.size() - 9)) > 0) {
        ++count;
      }
    }
    closedir(dir);
    return count;
  }

  std::unique_ptr<v1::Dockline::Stub> big_;
};

}  // namespace dockline::testing
