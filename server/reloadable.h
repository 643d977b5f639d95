#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "engine/status.h"

namespace dockline::server {

// A value read from a file that SIGHUP re-reads (the policy, the tokens): swapped whole, so a
// call that took the old value keeps a valid one; a file that does not load leaves the value in
// force and says why. Thread-safe.
template <typename T>
class Reloadable {
 public:
  using Loader = std::function<engine::Result<std::shared_ptr<const T>>(const std::string& path)>;

  Reloadable(std::shared_ptr<const T> value, std::string path, Loader load)
      : value_(std::move(value)), path_(std::move(path)), load_(std::move(load)) {}

  std::shared_ptr<const T> Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  const std::string& path() const { return path_; }

  engine::Status Reload() {
    if (path_.empty() || !load_) {
      return engine::Status::Ok();
    }
    auto loaded = load_(path_);
    if (!loaded.ok()) {
      return loaded.status();
    }
    std::lock_guard<std::mutex> lock(mu_);
    value_ = std::move(loaded.value());
    return engine::Status::Ok();
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
  const std::string path_;
  const Loader load_;
};

}  // namespace dockline::server
