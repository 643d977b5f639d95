// docklined under the limits a service really gets: systemd starts it with a soft limit of
// 1024 open files, and every pending wait, follow or exec holds a daemon connection.

#include <gmock/gmock.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::Each;
using ::testing::Eq;

class LimitsTest : public DaemonTest {};

// Starts docklined on a Unix socket with a soft open-files limit of `soft` (the hard limit
// stays), as a service manager would; stops it by its pid.
class DocklinedProcess {
 public:
  DocklinedProcess(const std::string& socket, rlim_t soft) {
    pid_ = fork();
    if (pid_ == 0) {
      rlimit limit{};
      getrlimit(RLIMIT_NOFILE, &limit);
      limit.rlim_cur = soft;
      setrlimit(RLIMIT_NOFILE, &limit);
      const char* host = std::getenv("DOCKER_HOST");
      std::string listen = "unix://" + socket;
      execl(DOCKLINED_PATH, DOCKLINED_PATH, "--listen", listen.c_str(), "--docker-host",
            host != nullptr ? host : "", "--log-level", "warn", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~DocklinedProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

TEST_F(LimitsTest, ThreeHundredPendingWaitsOnASoftLimitOf256) {
  constexpr int kWaits = 300;
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());

  TempDir dir;
  DocklinedProcess docklined(dir.path() + "/d.sock", 256);
  ASSERT_TRUE(docklined.started());
  auto channel =
      grpc::CreateChannel("unix://" + dir.path() + "/d.sock", grpc::InsecureChannelCredentials());
  ASSERT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20)));
  auto stub = v1::Dockline::NewStub(channel);

  struct Pending {
    grpc::ClientContext ctx;
    v1::WaitContainerRequest request;
    v1::WaitContainerResponse response;
  };
  const int descriptors_before = OpenDescriptors(docklined.pid());
  ASSERT_GT(descriptors_before, 0);
  std::vector<std::unique_ptr<Pending>> calls;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<grpc::Status> statuses;
  std::vector<int64_t> exit_codes;
  for (int i = 0; i < kWaits; ++i) {
    auto call = std::make_unique<Pending>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
    call->request.set_container(id);
    // Not-running, so that a wait the daemon registers only after the kill still ends with the
    // exit code: what is tested is that 300 are open at once past a soft limit of 256.
    call->request.set_condition(v1::WAIT_CONDITION_NOT_RUNNING);
    Pending* p = call.get();
    stub->async()->WaitContainer(&p->ctx, &p->request, &p->response, [&, p](grpc::Status st) {
      std::lock_guard<std::mutex> lock(mu);
      statuses.push_back(st);
      exit_codes.push_back(p->response.exit_code());
      cv.notify_all();
    });
    calls.push_back(std::move(call));
  }
  // Every wait holds its own connection to the daemon before the container goes (counted in
  // docklined's own descriptors, which no other test touches); until then none may have ended
  // (a refused connection ends a call at once).
  ASSERT_TRUE(PollUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return !statuses.empty() || OpenDescriptors(docklined.pid()) >= descriptors_before + kWaits;
      },
      std::chrono::seconds(60)))
      << "docklined has " << OpenDescriptors(docklined.pid()) << " descriptors, "
      << descriptors_before << " before the waits";
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const grpc::Status& st : statuses) {
      ADD_FAILURE() << "a wait ended before the exit: " << st.error_code() << " "
                    << st.error_message();
    }
  }
  engine::ApiRequest kill("POST", "/containers/" + id + "/kill");
  ASSERT_TRUE(Daemon(kill).ok());

  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::minutes(2),
                          [&] { return statuses.size() == static_cast<size_t>(kWaits); }));
  int failed = 0;
  for (const grpc::Status& st : statuses) {
    if (!st.ok()) {
      if (++failed <= 3) {
        ADD_FAILURE() << st.error_code() << " " << st.error_message();
      }
    }
  }
  EXPECT_EQ(failed, 0);
  EXPECT_THAT(exit_codes, Each(Eq(137)));
}

}  // namespace
}  // namespace dockline::testing
