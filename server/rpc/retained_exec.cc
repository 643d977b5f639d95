#include "server/rpc/retained_exec.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace dockline::server {

RetainedExec::RetainedExec(std::string owner, RetainOptions options,
                           std::weak_ptr<RetainedExecs> registry)
    : owner_(std::move(owner)), options_(options), registry_(std::move(registry)) {}

void RetainedExec::Begin(const engine::DockerApi& api, ExecPlan plan, Started started) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = std::move(started);
  }
  api_ = std::make_unique<engine::DockerApi>(api);
  session_ =
      std::make_shared<ExecSession>(api, std::move(plan), ExitPollPolicy{}, weak_from_this());
  session_->Begin();
}

uint64_t RetainedExec::AddReader(uint64_t offset, std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_reader_++;
  readers_[id] = Reader{std::min(offset, end_), std::move(wake)};
  return id;
}

void RetainedExec::RemoveReader(uint64_t reader) {
  bool read = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    readers_.erase(reader);
    // The reader that held the daemon back is gone.
    read = TakeRead();
  }
  if (read) {
    ReadMore();
  }
}

grpc::Status RetainedExec::Read(uint64_t reader, uint64_t offset, size_t max_bytes,
                                RetainedSlice* slice) {
  bool read = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (offset > end_) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                          "offset " + std::to_string(offset) + " is past the " +
                              std::to_string(end_) + " bytes exec " + id_ + " has written");
    }
    slice->lost = offset < base_ ? base_ - offset : 0;
    uint64_t at = std::max(offset, base_);
    slice->start = at;
    uint64_t piece_start = base_;
    size_t taken = 0;
    for (const RetainedPiece& piece : buffer_) {
      uint64_t piece_end = piece_start + piece.data.size();
      if (piece_end > at && taken < max_bytes) {
        size_t skip = static_cast<size_t>(at - piece_start);
        size_t n = std::min(piece.data.size() - skip, max_bytes - taken);
        slice->pieces.push_back(RetainedPiece{piece.kind, piece.data.substr(skip, n)});
        taken += n;
        at += n;
      }
      piece_start = piece_end;
    }
    slice->next = at;
    slice->end = ended_ && at == end_;
    if (slice->end) {
      slice->exit_code = exit_code_;
      slice->status = end_status_;
    }
    if (auto it = readers_.find(reader); it != readers_.end()) {
      it->second.position = at;
    }
    read = TakeRead();
  }
  if (read) {
    ReadMore();
  }
  return grpc::Status::OK;
}

bool RetainedExec::TakeRead() {
  if (reading_ || eof_ || ended_ || id_.empty() || !session_) {
    return false;
  }
  // A reader that has not yet read what is kept holds the daemon back, as a client does
  // without retention; with none attached nothing does, so the process never blocks on a full
  // pipe while nobody listens.
  uint64_t slowest = std::numeric_limits<uint64_t>::max();
  for (const auto& [id, r] : readers_) {
    slowest = std::min(slowest, r.position);
  }
  if (slowest != std::numeric_limits<uint64_t>::max() && end_ - slowest >= options_.bytes) {
    return false;
  }
  reading_ = true;
  return true;
}

void RetainedExec::ReadMore() { session_->Read(); }

// Drops the oldest bytes past the cap, but none that an attached reader has still to read.
void RetainedExec::Trim() {
  uint64_t keep_from = end_ > options_.bytes ? end_ - options_.bytes : 0;
  for (const auto& [id, r] : readers_) {
    keep_from = std::min(keep_from, r.position);
  }
  while (base_ < keep_from && !buffer_.empty()) {
    RetainedPiece& front = buffer_.front();
    uint64_t drop = std::min<uint64_t>(keep_from - base_, front.data.size());
    if (drop == front.data.size()) {
      buffer_.pop_front();
    } else {
      front.data.erase(0, static_cast<size_t>(drop));
    }
    base_ += drop;
  }
}

std::vector<std::function<void()>> RetainedExec::Wakes() {
  std::vector<std::function<void()>> wakes;
  for (const auto& [id, r] : readers_) {
    wakes.push_back(r.wake);
  }
  return wakes;
}

void RetainedExec::OnExecStarted(const std::string& exec_id) {
  Started started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = exec_id;
    started = std::move(started_);
    started_ = nullptr;
  }
  if (auto registry = registry_.lock()) {
    registry->Register(exec_id, this);
  }
  if (started) {
    started(grpc::Status::OK, exec_id);
  }
  bool read = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    read = TakeRead();
  }
  if (read) {
    ReadMore();
  }
}

void RetainedExec::OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) {
  std::vector<std::function<void()>> wakes;
  bool read = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    for (const OutputPiece& piece : pieces) {
      if (piece.data.empty()) {
        continue;
      }
      if (!buffer_.empty() && buffer_.back().kind == piece.kind &&
          buffer_.back().data.size() < 64 * 1024) {
        buffer_.back().data.append(piece.data);
      } else {
        buffer_.push_back(RetainedPiece{piece.kind, std::string(piece.data)});
      }
      end_ += piece.data.size();
    }
    Trim();
    eof_ = eof_ || eof;
    wakes = Wakes();
    read = TakeRead();
  }
  for (auto& wake : wakes) {
    wake();
  }
  if (read) {
    ReadMore();
  }
}

void RetainedExec::OnExecExited(int exit_code, const grpc::Status& output_end) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    exit_code_ = exit_code;
    end_status_ = output_end;
    ended_ = true;
  }
  Ended();
}

void RetainedExec::OnExecFailed(const grpc::Status& status) {
  Started started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    started = std::move(started_);
    started_ = nullptr;
    end_status_ = status;
    ended_ = true;
  }
  if (started) {
    // Failed before it started: it was never registered, so nobody can come back for it.
    if (auto registry = registry_.lock()) {
      registry->Unreserve(this);
    }
    return started(status, "");
  }
  Ended();
}

void RetainedExec::Ended() {
  std::vector<std::function<void()>> wakes;
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wakes = Wakes();
    id = id_;
  }
  for (auto& wake : wakes) {
    wake();
  }
  if (auto registry = registry_.lock(); registry && api_) {
    registry->Exited(id, *api_);
  }
}

void RetainedExec::Close() {
  if (session_) {
    session_->Cancel();
  }
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) {
      return;
    }
    ended_ = true;
    end_status_ = grpc::Status(grpc::StatusCode::CANCELLED,
                               "docklined stopped retaining exec " + id_ + " (shutting down)");
    wakes = Wakes();
  }
  for (auto& wake : wakes) {
    wake();
  }
}

// --- RetainedExecs ---

RetainedExecs::~RetainedExecs() { CloseAll(); }

std::shared_ptr<RetainedExec> RetainedExecs::Start(const engine::DockerApi& api, ExecPlan plan,
                                                   const std::string& owner,
                                                   RetainedExec::Started started) {
  auto exec = std::make_shared<RetainedExec>(owner, options_, weak_from_this());
  if (grpc::Status st = Reserve(exec); !st.ok()) {
    started(st, "");
    return exec;
  }
  exec->Begin(api, std::move(plan), std::move(started));
  return exec;
}

grpc::Status RetainedExecs::Reserve(const std::shared_ptr<RetainedExec>& exec) {
  std::shared_ptr<RetainedExec> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (execs_.size() + starting_.size() >= options_.max_execs) {
      if (exited_.empty()) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "retain_output: " + std::to_string(options_.max_execs) +
                                " retained execs are running (docklined --exec-retain-max)");
      }
      // Room is made from the exec that exited first: its output is the least likely to be
      // come back for.
      std::string oldest = exited_.front();
      exited_.pop_front();
      if (auto it = execs_.find(oldest); it != execs_.end()) {
        evicted = std::move(it->second);
        execs_.erase(it);
      }
      if (auto it = linger_timers_.find(oldest); it != linger_timers_.end()) {
        if (it->second) {
          it->second->Cancel();
        }
        linger_timers_.erase(it);
      }
    }
    starting_[exec.get()] = exec;
  }
  return grpc::Status::OK;
}

void RetainedExecs::Unreserve(const RetainedExec* exec) {
  std::shared_ptr<RetainedExec> gone;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = starting_.find(exec); it != starting_.end()) {
    gone = std::move(it->second);
    starting_.erase(it);
  }
}

void RetainedExecs::Register(const std::string& exec_id, const RetainedExec* exec) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = starting_.find(exec); it != starting_.end()) {
    execs_[exec_id] = std::move(it->second);
    starting_.erase(it);
  }
}

void RetainedExecs::Exited(const std::string& exec_id, const engine::DockerApi& api) {
  std::weak_ptr<RetainedExecs> weak = weak_from_this();
  std::shared_ptr<engine::Call> timer =
      api.engine().Schedule(options_.linger, [weak, exec_id](bool cancelled) {
        if (auto self = weak.lock(); self && !cancelled) {
          self->Expire(exec_id);
        }
      });
  std::lock_guard<std::mutex> lock(mu_);
  if (execs_.count(exec_id) == 0) {
    return;
  }
  exited_.push_back(exec_id);
  linger_timers_[exec_id] = std::move(timer);
}

void RetainedExecs::Expire(const std::string& exec_id) {
  std::shared_ptr<RetainedExec> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = execs_.find(exec_id); it != execs_.end()) {
      gone = std::move(it->second);
      execs_.erase(it);
    }
    linger_timers_.erase(exec_id);
    exited_.erase(std::remove(exited_.begin(), exited_.end(), exec_id), exited_.end());
  }
}

grpc::Status RetainedExecs::Find(const std::string& exec_id, const std::string& owner,
                                 std::shared_ptr<RetainedExec>* exec) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end() || it->second->owner() != owner) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "exec_id " + exec_id +
                            ": no retained output on this docklined (the exec was started "
                            "without retain_output, elsewhere, or exited longer ago than "
                            "--exec-retain-linger)");
  }
  *exec = it->second;
  return grpc::Status::OK;
}

void RetainedExecs::CloseAll() {
  std::map<std::string, std::shared_ptr<RetainedExec>> execs;
  std::map<const RetainedExec*, std::shared_ptr<RetainedExec>> starting;
  std::map<std::string, std::shared_ptr<engine::Call>> timers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    execs.swap(execs_);
    starting.swap(starting_);
    timers.swap(linger_timers_);
    exited_.clear();
  }
  for (auto& [id, timer] : timers) {
    if (timer) {
      timer->Cancel();
    }
  }
  for (auto& [id, exec] : execs) {
    exec->Close();
  }
  for (auto& [key, exec] : starting) {
    exec->Close();
  }
}

size_t RetainedExecs::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return execs_.size();
}

}  // namespace dockline::server
