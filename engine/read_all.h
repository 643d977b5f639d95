#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/engine.h"

namespace dockline::engine {

// Reads a streaming body to its end (the reply of /wait arrives only when the container exits).
// `limit` guards against a daemon that never stops talking.
inline void ReadAll(std::shared_ptr<BodyStream> body,
                    std::function<void(const Status&, std::string)> done, size_t limit = 16 << 20) {
  struct Reader : std::enable_shared_from_this<Reader> {
    std::shared_ptr<BodyStream> body;
    std::function<void(const Status&, std::string)> done;
    std::string data;
    size_t limit = 0;

    void Next() {
      body->Read([self = shared_from_this()](const Status& st, std::string_view piece, bool eof) {
        if (!st.ok()) {
          return self->done(st, std::move(self->data));
        }
        self->data.append(piece);
        if (eof) {
          return self->done(Status::Ok(), std::move(self->data));
        }
        if (self->data.size() > self->limit) {
          self->body->Cancel();
          return self->done(Status(Code::kProtocolError, "the daemon's reply is too large"),
                            std::move(self->data));
        }
        self->Next();
      });
    }
  };
  auto reader = std::make_shared<Reader>();
  reader->body = std::move(body);
  reader->done = std::move(done);
  reader->limit = limit;
  reader->Next();
}

}  // namespace dockline::engine
