#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "engine/status.h"

namespace dockline::server::calls {

// --audit: one JSON line per audited call, appended to a file (or written to stderr). Lines are
// written whole under a lock and flushed, so a crash loses at most the line being written.
// Thread-safe.
class AuditLog {
 public:
  // `path` "-" or "stderr": standard error. A file is opened for appending and created 0600.
  static engine::Result<std::shared_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  void Write(const std::string& line);
  // Reopens the file (after a rotation: SIGHUP); on failure the old file stays in use.
  engine::Status Reopen();
  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  static engine::Result<std::FILE*> OpenFile(const std::string& path);

  const std::string path_;
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace dockline::server::calls
