#pragma once

#include <grpcpp/grpcpp.h>

#include <utility>

#include "server/reactor/stream_core.h"
#include "server/reactor/unary_call.h"

namespace dockline::server {

// A bidi RPC refused before it reads a message or makes any engine call (no credentials, bad
// input). Finish before gRPC binds the reactor is held until it does.
template <typename Request, typename Response>
class RejectedBidi : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RejectedBidi(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// A client-streaming RPC refused before it reads a message.
template <typename Request>
class RejectedRead : public grpc::ServerReadReactor<Request> {
 public:
  explicit RejectedRead(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// Refuse<Reactor>(status): a reactor of the RPC's kind that only finishes with `status`, so one
// guard can refuse every RPC whatever its shape.
template <typename Reactor>
struct Refusal;

template <>
struct Refusal<grpc::ServerUnaryReactor> {
  static grpc::ServerUnaryReactor* Make(grpc::Status status) { return Reject(std::move(status)); }
};

template <typename Response>
struct Refusal<grpc::ServerWriteReactor<Response>> {
  static grpc::ServerWriteReactor<Response>* Make(grpc::Status status) {
    return new RejectedStream<Response>(std::move(status));
  }
};

template <typename Request, typename Response>
struct Refusal<grpc::ServerBidiReactor<Request, Response>> {
  static grpc::ServerBidiReactor<Request, Response>* Make(grpc::Status status) {
    return new RejectedBidi<Request, Response>(std::move(status));
  }
};

template <typename Request>
struct Refusal<grpc::ServerReadReactor<Request>> {
  static grpc::ServerReadReactor<Request>* Make(grpc::Status status) {
    return new RejectedRead<Request>(std::move(status));
  }
};

template <typename Reactor>
Reactor* Refuse(grpc::Status status) {
  return Refusal<Reactor>::Make(std::move(status));
}

}  // namespace dockline::server
