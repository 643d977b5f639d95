#include "engine/demux.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace dockline::engine {

Status FrameDemuxer::Feed(std::string_view bytes, const PayloadCallback& on_payload) {
  return FeedPieces(bytes, [&on_payload](const PayloadPiece& piece) {
    if (!piece.data.empty()) {
      on_payload(piece.kind, piece.data);
    }
  });
}

Status FrameDemuxer::FeedPieces(std::string_view bytes, const PieceCallback& on_piece) {
  if (!error_.ok()) {
    return error_;
  }
  while (!bytes.empty()) {
    if (remaining_ == 0) {
      size_t take = std::min(kHeaderSize - header_size_, bytes.size());
      std::copy_n(bytes.data(), take, header_.data() + header_size_);
      header_size_ += take;
      bytes.remove_prefix(take);
      if (header_size_ < kHeaderSize) {
        break;
      }
      header_size_ = 0;
      if (Status status = ParseHeader(); !status.ok()) {
        error_ = status;
        return error_;
      }
      if (remaining_ == 0) {
        on_piece(PayloadPiece{kind_, std::string_view(), true, true});
        continue;
      }
      at_frame_start_ = true;
      continue;
    }
    size_t take = std::min<size_t>(remaining_, bytes.size());
    remaining_ -= static_cast<uint32_t>(take);
    PayloadPiece piece{kind_, bytes.substr(0, take), at_frame_start_, remaining_ == 0};
    at_frame_start_ = false;
    bytes.remove_prefix(take);
    on_piece(piece);
  }
  return Status::Ok();
}

Status FrameDemuxer::ParseHeader() {
  if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
    char hex[3 * kHeaderSize + 1];
    for (size_t i = 0; i < kHeaderSize; ++i) {
      std::snprintf(hex + 3 * i, 4, "%02x ", header_[i]);
    }
    hex[3 * kHeaderSize - 1] = '\0';
    // The usual cause is a TTY (raw) stream read as multiplexed, so say what we saw.
    return Status(Code::kProtocolError, std::string("bad multiplexed stream header [") + hex +
                                            "]: expected a stream byte 0-3 and three zero bytes");
  }
  kind_ = static_cast<StreamKind>(header_[0]);
  remaining_ = (static_cast<uint32_t>(header_[4]) << 24) |
               (static_cast<uint32_t>(header_[5]) << 16) |
               (static_cast<uint32_t>(header_[6]) << 8) | static_cast<uint32_t>(header_[7]);
  frame_size_ = remaining_;
  return Status::Ok();
}

Status FrameDemuxer::Finish() const {
  if (!error_.ok() || AtFrameBoundary()) {
    return error_;
  }
  if (header_size_ != 0) {
    return Status(Code::kDataLoss, "the daemon's multiplexed stream ended inside a frame header (" +
                                       std::to_string(header_size_) + " of " +
                                       std::to_string(kHeaderSize) + " bytes): output was lost");
  }
  static constexpr const char* kNames[] = {"stdin", "stdout", "stderr", "system error"};
  return Status(Code::kDataLoss, "the daemon's multiplexed stream ended inside a " +
                                     std::string(kNames[static_cast<int>(kind_)]) +
                                     " frame: " + std::to_string(remaining_) + " of its " +
                                     std::to_string(frame_size_) + " bytes never came");
}

bool SplitTimestamp(std::string_view payload, std::string_view* timestamp, std::string_view* rest) {
  size_t space = payload.find(' ');
  if (space == std::string_view::npos || space == 0 || payload[0] < '0' || payload[0] > '9') {
    return false;
  }
  *timestamp = payload.substr(0, space);
  *rest = payload.substr(space + 1);
  return true;
}

Status LogEntryParser::Feed(std::string_view bytes, Sink& sink) {
  if (!tty_) {
    return demux_.FeedPieces(bytes, [this, &sink](const PayloadPiece& piece) {
      Data(piece.kind, piece.data, piece.frame_start, piece.frame_end, sink);
    });
  }
  if (!timestamps_) {
    // A raw stream without timestamps has no entry borders worth reporting.
    if (!bytes.empty()) {
      sink.OnData(StreamKind::kStdout, bytes);
    }
    return Status::Ok();
  }
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    size_t take = newline == std::string_view::npos ? bytes.size() : newline + 1;
    Data(StreamKind::kStdout, bytes.substr(0, take), !in_entry_, newline != std::string_view::npos,
         sink);
    bytes.remove_prefix(take);
  }
  return Status::Ok();
}

void LogEntryParser::Data(StreamKind kind, std::string_view data, bool entry_start, bool entry_end,
                          Sink& sink) {
  if (entry_start) {
    in_entry_ = true;
    in_prefix_ = timestamps_;
    prefix_.clear();
    if (!timestamps_) {
      sink.OnEntry(kind, {});
    }
  }
  if (in_prefix_) {
    // The prefix ends at the first space, at kMaxPrefix bytes (no timestamp is that long) or at
    // the entry's end, wherever the reads happen to be cut.
    const size_t room = kMaxPrefix - prefix_.size();
    const size_t space = data.substr(0, room).find(' ');
    if (space == std::string_view::npos && data.size() < room && !entry_end) {
      prefix_.append(data);
      return;
    }
    const size_t take = space != std::string_view::npos ? space + 1 : std::min(data.size(), room);
    prefix_.append(data.substr(0, take));
    data.remove_prefix(take);
    in_prefix_ = false;
    std::string_view ts;
    std::string_view rest;
    if (SplitTimestamp(prefix_, &ts, &rest)) {
      sink.OnEntry(kind, ts);
      if (!rest.empty()) {
        sink.OnData(kind, rest);
      }
    } else {
      sink.OnEntry(kind, {});
      if (!prefix_.empty()) {
        sink.OnData(kind, prefix_);
      }
    }
  }
  if (!data.empty()) {
    sink.OnData(kind, data);
  }
  if (entry_end) {
    in_entry_ = false;
    sink.OnEntryEnd();
  }
}

}  // namespace dockline::engine
