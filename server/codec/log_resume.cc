#include "server/codec/log_resume.h"

#include <google/protobuf/timestamp.pb.h>

#include <algorithm>

#include "server/codec/inspect_codec.h"

namespace dockline::server {
namespace {

size_t StreamIndex(engine::StreamKind kind) { return kind == engine::StreamKind::kStderr ? 1 : 0; }

}  // namespace

std::optional<LogResume::TimeKey> LogResume::ParseTimeKey(std::string_view ts) {
  google::protobuf::Timestamp t;
  if (ts.empty() || !ParseDockerTime(ts, &t)) {
    return std::nullopt;
  }
  return TimeKey{t.seconds(), t.nanos()};
}

void LogResume::BeginPass() {
  for (size_t i = 0; i < marks_.size(); ++i) {
    const Mark& m = marks_[i];
    Resume& r = resume_[i];
    r = Resume();
    if (m.ts) {
      r.active = true;
      r.ts = *m.ts;
      r.partial = !m.complete;
      r.skip_full = m.complete ? m.same_ts : m.same_ts - 1;
      r.partial_bytes = m.complete ? 0 : m.bytes;
    }
  }
  skip_entry_ = false;
  skip_bytes_ = 0;
}

std::string LogResume::Since() const {
  std::optional<TimeKey> since;
  std::optional<TimeKey> latest;
  for (const Mark& m : marks_) {
    if (m.ts) {
      since = since ? std::min(*since, *m.ts) : *m.ts;
      latest = latest ? std::max(*latest, *m.ts) : *m.ts;
    }
  }
  if (!latest) {
    return "";
  }
  for (const Mark& m : marks_) {
    if (!m.ts) {
      // A stream with nothing relayed yet may have an entry stamped a moment before the other
      // stream's last one and written after it.
      TimeKey early{latest->first - kReorderWindow.count(), latest->second};
      since = std::min(*since, early);
    }
  }
  google::protobuf::Timestamp t;
  t.set_seconds(std::max<int64_t>(since->first, 0));
  t.set_nanos(since->second);
  return DockerTimeParam(t);
}

bool LogResume::OnEntry(engine::StreamKind kind, std::string_view timestamp) {
  entry_stream_ = StreamIndex(kind);
  skip_entry_ = false;
  skip_bytes_ = 0;
  Mark& mark = marks_[entry_stream_];
  Resume& resume = resume_[entry_stream_];
  std::optional<TimeKey> ts = ParseTimeKey(timestamp);
  if (resume.active && ts) {
    if (*ts < resume.ts) {
      skip_entry_ = true;  // older than this stream's mark: relayed by an earlier pass
      return false;
    }
    if (*ts == resume.ts) {
      if (resume.skip_full > 0) {
        --resume.skip_full;
        skip_entry_ = true;
        return false;
      }
      if (resume.partial) {
        // The entry an earlier pass stopped inside: already counted, partly relayed.
        resume.active = false;
        skip_bytes_ = resume.partial_bytes;
        mark.bytes = resume.partial_bytes;
        mark.complete = false;
        return false;
      }
    }
    resume.active = false;
  }
  if (ts && mark.ts == ts) {
    ++mark.same_ts;
  } else {
    mark.ts = ts;
    mark.same_ts = 1;
  }
  mark.complete = false;
  mark.bytes = 0;
  return true;
}

std::string_view LogResume::OnData(std::string_view data) {
  if (skip_entry_) {
    return {};
  }
  if (skip_bytes_ > 0) {
    size_t n = std::min(skip_bytes_, data.size());
    data.remove_prefix(n);
    skip_bytes_ -= n;
  }
  marks_[entry_stream_].bytes += data.size();
  return data;
}

void LogResume::OnEntryEnd() {
  if (!skip_entry_) {
    marks_[entry_stream_].complete = true;
  }
}

}  // namespace dockline::server
