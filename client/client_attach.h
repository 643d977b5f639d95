#pragma once

#include <string>

#include "client/attachment.h"
#include "dockline/v1/dockline.pb.h"

// container.attach_socket() of the client library; Client::Attach (client.h) returns it.
namespace dockline::client {

// AttachContainer's config, as docker attach and docker-py's attach take it.
struct AttachOptions {
  bool stdin = false;  // the container must have been created with stdin_open
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool logs = false;   // replay the output so far first
  bool start = false;  // start the container once attached (docker run's order)
  std::string detach_keys;
};

// A container attached to: its main process's output and exit code out, stdin in; the thread
// rules are Attachment's. The stream ends with the exit code, or (detached()) when the daemon
// read the detach keys, the container still running.
class ContainerAttachment
    : public StreamAttachment<v1::AttachContainerRequest, v1::AttachContainerResponse> {
 public:
  using StreamAttachment::StreamAttachment;
  ~ContainerAttachment() override = default;

  // The container's full id and whether it has a TTY (output is then one stream, with CRLF).
  const std::string& id() const { return id_; }
  bool tty() const { return tty_; }
  bool detached() const { return detached_; }

 protected:
  bool OnEvent(const v1::AttachContainerResponse& response) override {
    if (response.has_detached()) {
      detached_ = true;
    }
    if (!response.has_attached()) {
      return false;
    }
    id_ = response.attached().id();
    tty_ = response.attached().tty();
    return true;
  }
  bool EndedWell() const override { return detached_; }
  std::string MissingExitMessage() const override {
    return "the attach stream ended without the container's exit code";
  }

 private:
  std::string id_;
  bool tty_ = false;
  bool detached_ = false;
};

}  // namespace dockline::client
