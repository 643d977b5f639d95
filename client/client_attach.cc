#include "client/client_attach.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "client/client.h"

namespace dockline::client {

Result<std::unique_ptr<ContainerAttachment>> Client::Attach(const std::string& container,
                                                            const AttachOptions& options) {
  // No deadline: the stream lasts as long as the container runs.
  auto context = std::make_unique<grpc::ClientContext>();
  auto stream = stub_->AttachContainer(context.get());
  v1::AttachContainerRequest first;
  v1::AttachConfig* config = first.mutable_config();
  config->set_container(container);
  config->set_stdin(options.stdin);
  config->set_stdout(options.stdout_stream);
  config->set_stderr(options.stderr_stream);
  config->set_logs(options.logs);
  config->set_start(options.start);
  config->set_detach_keys(options.detach_keys);
  return OpenAttachment(
      std::make_unique<ContainerAttachment>(std::move(context), std::move(stream)), first,
      "the attach stream ended before the container was attached");
}

}  // namespace dockline::client
