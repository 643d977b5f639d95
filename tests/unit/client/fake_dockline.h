#pragma once

// A scripted Dockline service on a loopback port, for the client library and the CLI's
// Execute: the RPCs record what arrived and answer what the test put in.

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "dockline/v1/dockline.grpc.pb.h"

namespace dockline::testing {

// A scripted Dockline service: each RPC records its request and answers with what the test
// put in the fields below.
class FakeDockline final : public v1::Dockline::Service {
 public:
  grpc::Status RunContainer(grpc::ServerContext* context, const v1::RunContainerRequest* request,
                            grpc::ServerWriter<v1::RunContainerResponse>* writer) override {
    Record(context, *request, run_request);
    for (const v1::RunContainerResponse& event : run_events) {
      writer->Write(event);
    }
    return run_status;
  }

  grpc::Status WaitContainer(grpc::ServerContext* context, const v1::WaitContainerRequest* request,
                             v1::WaitContainerResponse* response) override {
    Record(context, *request, wait_request);
    *response = wait_response;
    return wait_status;
  }

  grpc::Status InspectContainer(grpc::ServerContext* context,
                                const v1::InspectContainerRequest* request,
                                v1::InspectContainerResponse* response) override {
    Record(context, *request, inspect_request);
    *response = inspect_response;
    return inspect_status;
  }

  grpc::Status CreateContainer(grpc::ServerContext* context,
                               const v1::CreateContainerRequest* request,
                               v1::CreateContainerResponse* response) override {
    Record(context, *request, create_request);
    response->set_id("c0ffee");
    response->add_warnings("careful");
    return grpc::Status::OK;
  }

  grpc::Status StopContainer(grpc::ServerContext* context, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse* response) override {
    Record(context, *request, stop_request);
    response->set_already_stopped(true);
    return grpc::Status::OK;
  }

  grpc::Status KillContainer(grpc::ServerContext* context, const v1::KillContainerRequest* request,
                             v1::KillContainerResponse*) override {
    Record(context, *request, kill_request);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "container abc is not running");
  }

  grpc::Status RemoveContainer(grpc::ServerContext* context,
                               const v1::RemoveContainerRequest* request,
                               v1::RemoveContainerResponse*) override {
    Record(context, *request, remove_request);
    return grpc::Status::OK;
  }

  grpc::Status ListContainers(grpc::ServerContext* context,
                              const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override {
    Record(context, *request, list_request);
    response->add_containers()->set_id("0123456789abcdef");
    return grpc::Status::OK;
  }

  grpc::Status GetEngineInfo(grpc::ServerContext* context, const v1::GetEngineInfoRequest* request,
                             v1::GetEngineInfoResponse* response) override {
    v1::GetEngineInfoRequest ignored;
    Record(context, *request, ignored);
    response->set_engine_version("20.10.24");
    response->set_api_version("1.41");
    return grpc::Status::OK;
  }

  // Scripted answers.
  std::vector<v1::RunContainerResponse> run_events;
  grpc::Status run_status;
  v1::WaitContainerResponse wait_response;
  grpc::Status wait_status;
  v1::InspectContainerResponse inspect_response;
  grpc::Status inspect_status;

  // What arrived. The server runs RPCs on its own threads; the client call returning orders the
  // writes before the test reads them.
  v1::RunContainerRequest run_request;
  v1::WaitContainerRequest wait_request;
  v1::InspectContainerRequest inspect_request;
  v1::CreateContainerRequest create_request;
  v1::StopContainerRequest stop_request;
  v1::KillContainerRequest kill_request;
  v1::RemoveContainerRequest remove_request;
  v1::ListContainersRequest list_request;
  // Time left until the deadline of the last call; nullopt when it had none.
  std::optional<std::chrono::milliseconds> last_deadline_left;
  // The last call's `authorization` metadata (nullopt: none) and how many it carried.
  std::optional<std::string> last_authorization;
  size_t last_authorization_count = 0;
  // The last call's client certificate subject CN over mTLS; empty without one.
  std::string last_peer_common_name;

 private:
  template <class Request>
  void Record(grpc::ServerContext* context, const Request& request, Request& into) {
    std::lock_guard lock(mutex_);
    into = request;
    const auto& metadata = context->client_metadata();
    const auto [first, last] = metadata.equal_range("authorization");
    last_authorization_count = static_cast<size_t>(std::distance(first, last));
    last_authorization.reset();
    if (first != last) {
      last_authorization.emplace(first->second.data(), first->second.size());
    }
    last_peer_common_name.clear();
    if (const auto auth = context->auth_context()) {
      for (const grpc::string_ref& name : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
        last_peer_common_name.assign(name.data(), name.size());
      }
    }
    const auto deadline = context->deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) {
      last_deadline_left.reset();
    } else {
      last_deadline_left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::system_clock::now());
    }
  }

  std::mutex mutex_;
};

inline v1::RunContainerResponse Started(const std::string& id) {
  v1::RunContainerResponse event;
  event.mutable_started()->set_id(id);
  return event;
}

inline v1::RunContainerResponse Output(v1::Stream stream, const std::string& data) {
  v1::RunContainerResponse event;
  event.mutable_output()->set_stream(stream);
  event.mutable_output()->set_data(data);
  return event;
}

inline v1::RunContainerResponse Exited(int64_t code) {
  v1::RunContainerResponse event;
  event.mutable_exited()->set_exit_code(code);
  return event;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }

  void TearDown() override { server_->Shutdown(); }

  client::Client MakeClient(client::ClientOptions options = {}) {
    return client::Client::Connect(address_, options);
  }

  FakeDockline service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace dockline::testing
