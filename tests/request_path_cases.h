#pragma once

// The hostile ids of issue 9's request-path cases and every RPC that takes a container or exec
// reference, shared by the unit sweep (scripted daemon) and the integration sweep (real daemon
// behind a recording proxy).

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <vector>

#include "dockline/v1/dockline.grpc.pb.h"

namespace dockline::testing {

// The ids, and whether each must be refused (INVALID_ARGUMENT naming the field, before any
// daemon call) or reach the daemon as one escaped path segment (which then answers NOT_FOUND).
struct IdCase {
  std::string id;
  bool refused;  // INVALID_ARGUMENT, nothing sent; else the daemon's NOT_FOUND
};

inline std::vector<IdCase> IdCases() {
  return {
      // The list.
      {"../images/json", true},
      {"a/kill?signal=9", true},
      {"%2e%2e%2fimages", false},
      {"x#y", true},
      {"a?b=c", true},
      {"", true},
      {std::string(10000, 'a'), true},
      // What the daemon's router would clean away or split, even escaped.
      {".", true},
      {"..", true},
      {"/abc", true},
      {"..%2fimages", false},
      {"%2F", false},
      // At and past the length cap.
      {std::string(256, 'z'), false},
      {std::string(257, 'z'), true},
      // Control bytes; other odd but harmless ids reach the daemon escaped.
      {std::string("a\0b", 3), true},
      {"a\r\nHost: x", true},
      {"abc def", false},
      {"...", false},
      {".a", false},
      {"a:b", false},
      {"\xc3\xb6", false},
  };
}

struct RpcCase {
  const char* name;
  const char* field;       // what a refusal names
  const char* collection;  // "/containers" or "/exec"
  // What may follow "<collection>/<escaped id>": this RPC's endpoints, nothing else.
  std::vector<std::string> suffixes;
  bool events;  // it also subscribes to GET /events (the id travels in the filters)
  std::function<grpc::Status(v1::Dockline::Stub&, grpc::ClientContext*, const std::string&)> call;
};

template <typename Request, typename Response>
grpc::Status Unary(grpc::Status (v1::Dockline::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                   v1::Dockline::Stub& stub, grpc::ClientContext* ctx, const Request& request) {
  Response response;
  return (stub.*method)(ctx, request, &response);
}

template <typename Response, typename Reader>
grpc::Status Drain(Reader reader) {
  Response msg;
  while (reader->Read(&msg)) {
  }
  return reader->Finish();
}

inline v1::ExecConfig ExecConfigFor(const std::string& id) {
  v1::ExecConfig config;
  config.set_container(id);
  config.add_cmd("true");
  return config;
}

inline std::vector<RpcCase> RpcCases() {
  using Stub = v1::Dockline::Stub;
  using Ctx = grpc::ClientContext;
  return {
      {"InspectContainer",
       "container",
       "/containers",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::InspectContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::InspectContainer, s, c, r);
       }},
      {"StartContainer",
       "container",
       "/containers",
       {"/start"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StartContainer, s, c, r);
       }},
      {"StopContainer",
       "container",
       "/containers",
       {"/stop"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StopContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StopContainer, s, c, r);
       }},
      {"RestartContainer",
       "container",
       "/containers",
       {"/restart"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::RestartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RestartContainer, s, c, r);
       }},
      {"KillContainer",
       "container",
       "/containers",
       {"/kill"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::KillContainerRequest r;
         r.set_container(id);
         r.set_signal("SIGKILL");
         return Unary(&Stub::KillContainer, s, c, r);
       }},
      {"RemoveContainer",
       "container",
       "/containers",
       {""},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::RemoveContainerRequest r;
         r.set_container(id);
         r.set_force(true);
         return Unary(&Stub::RemoveContainer, s, c, r);
       }},
      {"WaitContainer",
       "container",
       "/containers",
       {"/wait"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WaitContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitContainer, s, c, r);
       }},
      {"StreamLogs",
       "container",
       "/containers",
       {"/json", "/logs"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StreamLogsRequest r;
         r.set_container(id);
         return Drain<v1::StreamLogsResponse>(s.StreamLogs(c, r));
       }},
      {"GetStats",
       "container",
       "/containers",
       {"/stats"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::GetStatsRequest r;
         r.set_container(id);
         return Unary(&Stub::GetStats, s, c, r);
       }},
      {"StreamStats",
       "container",
       "/containers",
       {"/stats"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StreamStatsRequest r;
         r.set_container(id);
         return Drain<v1::StreamStatsResponse>(s.StreamStats(c, r));
       }},
      {"CopyFromContainer",
       "container",
       "/containers",
       {"/archive"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::CopyFromContainerRequest r;
         r.set_container(id);
         r.set_path("/etc");
         return Drain<v1::CopyFromContainerResponse>(s.CopyFromContainer(c, r));
       }},
      {"CopyToContainer",
       "target.container",
       "/containers",
       {"/archive"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::CopyToContainerResponse response;
         auto stream = s.CopyToContainer(c, &response);
         v1::CopyToContainerRequest r;
         r.mutable_target()->set_container(id);
         r.mutable_target()->set_path("/tmp");
         // The server may have ended the call already; Finish says how.
         stream->Write(r);
         stream->WritesDone();
         return stream->Finish();
       }},
      {"GetHealth",
       "container",
       "/containers",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::GetHealthRequest r;
         r.set_container(id);
         return Unary(&Stub::GetHealth, s, c, r);
       }},
      {"WaitHealthy",
       "container",
       "/containers",
       {"/json"},
       true,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WaitHealthyRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitHealthy, s, c, r);
       }},
      {"WatchHealth",
       "container",
       "/containers",
       {"/json"},
       true,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WatchHealthRequest r;
         r.set_container(id);
         return Drain<v1::WatchHealthResponse>(s.WatchHealth(c, r));
       }},
      {"ExecContainer",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::ExecContainerRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::ExecContainer, s, c, r);
       }},
      {"StreamExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StreamExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Drain<v1::StreamExecResponse>(s.StreamExec(c, r));
       }},
      {"StartExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StartExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::StartExec, s, c, r);
       }},
      {"AttachExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         auto stream = s.AttachExec(c);
         v1::AttachExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         // The server may have ended the call already; Finish says how.
         stream->Write(r);
         stream->WritesDone();
         return Drain<v1::AttachExecResponse>(std::move(stream));
       }},
      {"AttachContainer",
       "config.container",
       "/containers",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         auto stream = s.AttachContainer(c);
         v1::AttachContainerRequest r;
         r.mutable_config()->set_container(id);
         stream->Write(r);
         stream->WritesDone();
         return Drain<v1::AttachContainerResponse>(std::move(stream));
       }},
      {"InspectExec",
       "exec_id",
       "/exec",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::InspectExecRequest r;
         r.set_exec_id(id);
         return Unary(&Stub::InspectExec, s, c, r);
       }},
  };
}

}  // namespace dockline::testing
