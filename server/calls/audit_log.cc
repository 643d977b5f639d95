#include "server/calls/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dockline::server::calls {

namespace {

bool IsStderr(const std::string& path) { return path == "-" || path == "stderr"; }

}  // namespace

engine::Result<std::FILE*> AuditLog::OpenFile(const std::string& path) {
  if (IsStderr(path)) {
    return stderr;
  }
  // The audit names identities and containers: not for every local user to read.
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return engine::Status(engine::Code::kBadRequest,
                          "--audit " + path + ": " + std::strerror(errno));
  }
  std::FILE* file = fdopen(fd, "a");
  if (file == nullptr) {
    close(fd);
    return engine::Status(engine::Code::kBadRequest,
                          "--audit " + path + ": " + std::strerror(errno));
  }
  return file;
}

engine::Result<std::shared_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  auto file = OpenFile(path);
  if (!file.ok()) {
    return file.status();
  }
  return std::shared_ptr<AuditLog>(new AuditLog(path, file.value()));
}

AuditLog::~AuditLog() {
  if (file_ != stderr) {
    std::fclose(file_);
  }
}

void AuditLog::Write(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

engine::Status AuditLog::Reopen() {
  if (IsStderr(path_)) {
    return engine::Status::Ok();
  }
  auto file = OpenFile(path_);
  if (!file.ok()) {
    return file.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::fclose(file_);
  file_ = file.value();
  return engine::Status::Ok();
}

}  // namespace dockline::server::calls
