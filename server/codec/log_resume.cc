#include "server/codec/log_resume.h"

#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "server/codec/base64url.h"
#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"

namespace dockline::server {
namespace {

size_t StreamIndex(engine::StreamKind kind) { return kind == engine::StreamKind::kStderr ? 1 : 0; }

constexpr std::string_view kCursorPrefix = "dlcur1.";

// What DockerTimeParam makes ("<seconds>.<nanos>"), or empty.
bool IsSinceParam(std::string_view since) {
  size_t dot = since.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return since.empty() || (dot == std::string_view::npos
                               ? digits(since)
                               : digits(since.substr(0, dot)) && digits(since.substr(dot + 1)));
}

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
  ++entries_;
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
  if (!data.empty()) {
    relayed_ += data.size();
    // One trail point per entry: a chunk that ends inside the entry is found from its end.
    if (trail_.empty() || trail_.back().entry != entries_) {
      trail_.push_back(Trail{relayed_, entries_, entry_stream_, marks_});
    } else {
      trail_.back().end = relayed_;
      trail_.back().marks = marks_;
    }
  }
  return data;
}

void LogResume::OnEntryEnd() {
  if (!skip_entry_) {
    marks_[entry_stream_].complete = true;
    if (!trail_.empty() && trail_.back().entry == entries_) {
      trail_.back().marks = marks_;
    }
  }
}

LogResume::Marks LogResume::MarksAt(uint64_t relayed) {
  while (!trail_.empty() && trail_.front().end < relayed) {
    trail_.pop_front();
  }
  if (trail_.empty()) {
    return marks_;
  }
  const Trail& t = trail_.front();
  Marks marks = t.marks;
  if (t.end > relayed) {
    // Inside the entry: its bytes past `relayed` are still to come.
    Mark& m = marks[t.stream];
    m.bytes -= std::min<uint64_t>(m.bytes, t.end - relayed);
    m.complete = false;
  }
  return marks;
}

std::string EncodeLogCursor(const LogCursor& cursor) {
  nlohmann::json doc = {{"c", cursor.container_id}};
  if (cursor.tty) {
    doc["t"] = cursor.bytes;
    doc["s"] = cursor.since;
  } else {
    nlohmann::json streams = nlohmann::json::array();
    for (const LogResume::Mark& m : cursor.marks) {
      if (!m.ts) {
        streams.push_back(nullptr);
        continue;
      }
      streams.push_back({m.ts->first, m.ts->second, m.same_ts, m.complete ? 1 : 0, m.bytes});
    }
    doc["m"] = std::move(streams);
  }
  return std::string(kCursorPrefix) + Base64UrlEncode(doc.dump());
}

namespace {

// A mark as EncodeLogCursor writes it: [seconds, nanos, same_ts, complete, bytes], or null.
bool DecodeMark(const nlohmann::json& s, LogResume::Mark* m) {
  *m = LogResume::Mark();
  if (s.is_null()) {
    return true;
  }
  if (!s.is_array() || s.size() != 5) {
    return false;
  }
  for (const nlohmann::json& v : s) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return false;
    }
  }
  const int64_t nanos = s[1].get<int64_t>();
  const int64_t same = s[2].get<int64_t>();
  if (nanos > 999999999 || same < 1 || same > (1 << 30)) {
    return false;
  }
  m->ts = LogResume::TimeKey{s[0].get<int64_t>(), static_cast<int32_t>(nanos)};
  m->same_ts = static_cast<int>(same);
  m->complete = s[3].get<int64_t>() != 0;
  m->bytes = s[4].get<uint64_t>();
  return true;
}

}  // namespace

grpc::Status DecodeLogCursor(std::string_view text, std::string_view field, LogCursor* cursor) {
  if (text.substr(0, kCursorPrefix.size()) != kCursorPrefix) {
    return InvalidField(field,
                        "not a log cursor (one starts \"dlcur1.\"; every output chunk of "
                        "StreamLogs and RunContainer carries one)");
  }
  std::optional<std::string> decoded = Base64UrlDecode(text.substr(kCursorPrefix.size()));
  const nlohmann::json doc =
      decoded ? nlohmann::json::parse(*decoded, nullptr, false) : nlohmann::json();
  const grpc::Status damaged = InvalidField(field, "a damaged log cursor (it does not decode)");
  const nlohmann::json* id = Member(doc, "c");
  if (!doc.is_object() || id == nullptr || !id->is_string() || id->get<std::string>().empty()) {
    return damaged;
  }
  *cursor = LogCursor();
  cursor->container_id = id->get<std::string>();
  const nlohmann::json* marks = Member(doc, "m");
  const nlohmann::json* bytes = Member(doc, "t");
  const nlohmann::json* since = Member(doc, "s");
  if (marks != nullptr && marks->is_array() && marks->size() == cursor->marks.size()) {
    for (size_t i = 0; i < cursor->marks.size(); ++i) {
      if (!DecodeMark((*marks)[i], &cursor->marks[i])) {
        return damaged;
      }
    }
    return grpc::Status::OK;
  }
  if (bytes != nullptr && bytes->is_number_unsigned() && since != nullptr && since->is_string() &&
      IsSinceParam(since->get<std::string>())) {
    cursor->tty = true;
    cursor->bytes = bytes->get<uint64_t>();
    cursor->since = since->get<std::string>();
    return grpc::Status::OK;
  }
  return damaged;
}

}  // namespace dockline::server
