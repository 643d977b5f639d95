#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

#include "client/client.h"

namespace dockline::client {

grpc::Status Client::CopyFromContainer(const std::string& container, const std::string& path,
                                       const std::function<void(const v1::PathStat&)>& on_stat,
                                       const std::function<bool(std::string_view)>& on_data) {
  grpc::ClientContext context;
  v1::CopyFromContainerRequest request;
  request.set_container(container);
  request.set_path(path);
  auto reader = stub_->CopyFromContainer(&context, request);
  v1::CopyFromContainerResponse msg;
  bool stopped = false;
  while (reader->Read(&msg)) {
    if (msg.has_stat()) {
      if (on_stat) {
        on_stat(msg.stat());
      }
    } else if (on_data && !on_data(msg.data())) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  return stopped ? grpc::Status::OK : status;
}

grpc::Status Client::CopyToContainer(const v1::CopyTarget& target, const ArchiveSource& source) {
  grpc::ClientContext context;
  v1::CopyToContainerResponse response;
  auto writer = stub_->CopyToContainer(&context, &response);
  v1::CopyToContainerRequest msg;
  *msg.mutable_target() = target;
  // A failed write means the server has ended the call (a missing container answers before the
  // body): Finish says why.
  bool open = writer->Write(msg);
  bool eof = false;
  while (open && !eof) {
    std::string piece;
    if (grpc::Status st = source(&piece, &eof); !st.ok()) {
      context.TryCancel();
      writer->Finish();
      return st;
    }
    if (!piece.empty()) {
      msg.set_data(std::move(piece));
      open = writer->Write(msg);
    }
  }
  if (open) {
    writer->WritesDone();
  }
  return writer->Finish();
}

}  // namespace dockline::client
