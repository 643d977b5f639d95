#include "server/reactor/coalescer.h"

#include <algorithm>
#include <utility>

namespace dockline::server {

Coalescer::Coalescer(size_t max_chunk) : max_chunk_(std::max<size_t>(max_chunk, 1)) {}

void Coalescer::Add(engine::StreamKind kind, std::string_view data, const EmitCallback& emit) {
  if (data.empty()) {
    return;
  }
  if (!pending_.empty() && kind != kind_) {
    EmitPending(emit);
  }
  kind_ = kind;
  while (!data.empty()) {
    size_t take = std::min(max_chunk_ - pending_.size(), data.size());
    pending_.append(data.data(), take);
    data.remove_prefix(take);
    if (pending_.size() >= max_chunk_) {
      EmitPending(emit);
    }
  }
}

void Coalescer::Flush(const EmitCallback& emit) {
  if (!pending_.empty()) {
    EmitPending(emit);
  }
}

void Coalescer::EmitPending(const EmitCallback& emit) {
  std::string chunk;
  chunk.swap(pending_);
  emit(kind_, std::move(chunk));
}

}  // namespace dockline::server
