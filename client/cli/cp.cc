#include "client/cli/cp.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "client/cli/cli.h"
#include "client/result.h"

namespace dockline::cli {
namespace {

constexpr size_t kPiece = 256 << 10;

grpc::Status Failed(const std::string& message) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// A connected pair of Unix sockets between the gRPC side and the libarchive side of a copy:
// the kernel's buffer is the only one, and a full socket holds the writer back. send() with
// MSG_NOSIGNAL, so a side that has gone makes the other fail instead of raising SIGPIPE.
class Channel {
 public:
  Channel() {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) {
      fds_[0] = fds_[1] = -1;
    }
  }
  ~Channel() {
    CloseReader();
    CloseWriter();
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  bool ok() const { return fds_[0] >= 0; }
  int reader() const { return fds_[0]; }
  bool Send(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = ::send(fds_[1], p, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return false;
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }
  void CloseWriter() { Close(&fds_[1]); }
  void CloseReader() { Close(&fds_[0]); }

 private:
  static void Close(int* fd) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
  int fds_[2] = {-1, -1};
};

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;

std::string Basename(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Dirname(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Whether an archive entry's name stays inside the directory it is extracted into.
bool StaysInside(std::string_view name) {
  if (name.empty() || name.front() == '/') {
    return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") {
      return false;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return true;
}

// Where copy-out's entries land: under `dest` (`rename` false), or with the archive's top
// entry renamed to `dest` (DEST did not exist).
struct Landing {
  std::string dest;
  bool rename = false;
};

std::optional<std::string> Land(const Landing& landing, std::string_view name) {
  if (!StaysInside(name)) {
    return std::nullopt;
  }
  if (!landing.rename) {
    return landing.dest + "/" + std::string(name);
  }
  size_t slash = name.find('/');
  return landing.dest + (slash == std::string_view::npos ? "" : std::string(name.substr(slash)));
}

// Decides where copy-out's archive goes on the host, from SRC's stat (docker cp's rules).
grpc::Status HostLanding(const std::string& host, const v1::PathStat& stat, Landing* landing) {
  struct stat st {};
  std::string dest = host;
  while (dest.size() > 1 && dest.back() == '/') {
    dest.pop_back();
  }
  if (::stat(host.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      *landing = {dest, false};
      return grpc::Status::OK;
    }
    if (stat.is_dir()) {
      return Failed("cannot copy a directory to a file: " + host);
    }
    *landing = {dest, true};
    return grpc::Status::OK;
  }
  if (errno != ENOENT) {
    return Failed(Errno(host));
  }
  if (!stat.is_dir() && host.back() == '/') {
    return Failed("destination directory " + host + " does not exist");
  }
  struct stat parent {};
  if (::stat(Dirname(dest).c_str(), &parent) != 0 || !S_ISDIR(parent.st_mode)) {
    return Failed("destination directory " + Dirname(dest) + " does not exist");
  }
  *landing = {dest, true};
  return grpc::Status::OK;
}

grpc::Status ArchiveError(archive* a, const std::string& what) {
  const char* message = archive_error_string(a);
  return Failed(what + ": " + (message != nullptr ? message : "archive error"));
}

// Extracts the tar read from `fd` as `landing` says; `stat` is read once the first entry came
// (the server sends it before any byte of the archive).
grpc::Status Extract(int fd, const std::string& host, const std::function<v1::PathStat()>& stat) {
  ReadArchive in(archive_read_new());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_fd(in.get(), fd, 64 << 10) != ARCHIVE_OK) {
    return ArchiveError(in.get(), "reading the archive");
  }
  WriteArchive disk(archive_write_disk_new());
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                 ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_write_disk_set_standard_lookup(disk.get());
  std::optional<Landing> landing;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return ArchiveError(in.get(), "reading the archive");
    }
    if (!landing) {
      landing.emplace();
      if (grpc::Status st = HostLanding(host, stat(), &*landing); !st.ok()) {
        return st;
      }
    }
    const std::string name = archive_entry_pathname(entry);
    std::optional<std::string> path = Land(*landing, name);
    if (!path) {
      return Failed("refusing archive entry \"" + name + "\": it would land outside " + host);
    }
    archive_entry_set_pathname(entry, path->c_str());
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      std::optional<std::string> target = Land(*landing, link);
      if (!target) {
        return Failed("refusing archive entry \"" + name + "\": its link leads outside " + host);
      }
      archive_entry_set_hardlink(entry, target->c_str());
    }
    if (archive_write_header(disk.get(), entry) < ARCHIVE_WARN) {
      return ArchiveError(disk.get(), *path);
    }
    const void* buffer = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while ((r = archive_read_data_block(in.get(), &buffer, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(disk.get(), buffer, size, offset) < ARCHIVE_WARN) {
        return ArchiveError(disk.get(), *path);
      }
    }
    if (r != ARCHIVE_EOF) {
      return ArchiveError(in.get(), "reading the archive");
    }
    if (archive_write_finish_entry(disk.get()) < ARCHIVE_WARN) {
      return ArchiveError(disk.get(), *path);
    }
  }
  if (archive_write_close(disk.get()) < ARCHIVE_WARN) {
    return ArchiveError(disk.get(), host);
  }
  return grpc::Status::OK;
}

int Report(std::ostream& err, const grpc::Status& status, const Invocation& invocation) {
  if (status.ok()) {
    return 0;
  }
  PrintError(err, status, invocation.address);
  return kExitCommandFailed;
}

int CopyOut(const Invocation& invocation, client::Client& client, std::ostream& out,
            std::ostream& err) {
  const CpInvocation& cp = invocation.cp;
  if (cp.host_path == "-") {
    grpc::Status st = client.CopyFromContainer(
        cp.container, cp.container_path, nullptr, [&out](std::string_view data) {
          out.write(data.data(), static_cast<std::streamsize>(data.size()));
          return static_cast<bool>(out);
        });
    out.flush();
    return Report(err, st, invocation);
  }
  Channel channel;
  if (!channel.ok()) {
    return Report(err, Failed(Errno("socketpair")), invocation);
  }
  std::mutex mu;
  v1::PathStat stat;
  grpc::Status call_status;
  std::thread call([&] {
    call_status = client.CopyFromContainer(
        cp.container, cp.container_path,
        [&](const v1::PathStat& s) {
          std::lock_guard<std::mutex> lock(mu);
          stat = s;
        },
        [&](std::string_view data) { return channel.Send(data.data(), data.size()); });
    channel.CloseWriter();
  });
  grpc::Status extracted = Extract(channel.reader(), cp.host_path, [&] {
    std::lock_guard<std::mutex> lock(mu);
    return stat;
  });
  // An extraction that stopped early stops the download too (its next send fails).
  channel.CloseReader();
  call.join();
  return Report(err, !call_status.ok() ? call_status : extracted, invocation);
}

la_ssize_t SendToChannel(archive*, void* data, const void* buffer, size_t size) {
  return static_cast<Channel*>(data)->Send(buffer, size) ? static_cast<la_ssize_t>(size) : -1;
}

// Packs `src` into `channel` as a tar whose top entry is `top`.
grpc::Status Pack(const std::string& src, const std::string& top, Channel* channel) {
  WriteArchive out(archive_write_new());
  archive_write_set_format_pax_restricted(out.get());
  archive_write_set_bytes_in_last_block(out.get(), 1);
  if (archive_write_open(out.get(), channel, nullptr, &SendToChannel, nullptr) != ARCHIVE_OK) {
    return ArchiveError(out.get(), "writing the archive");
  }
  ReadArchive disk(archive_read_disk_new());
  archive_read_disk_set_standard_lookup(disk.get());
  if (archive_read_disk_open(disk.get(), src.c_str()) != ARCHIVE_OK) {
    return ArchiveError(disk.get(), src);
  }
  archive_entry* entry = archive_entry_new();
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> owned(entry, &archive_entry_free);
  std::string buffer(kPiece, '\0');
  while (true) {
    archive_entry_clear(entry);
    int r = archive_read_next_header2(disk.get(), entry);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return ArchiveError(disk.get(), src);
    }
    archive_read_disk_descend(disk.get());
    const std::string path = archive_entry_pathname(entry);
    archive_entry_set_pathname(entry,
                               (top + path.substr(std::min(path.size(), src.size()))).c_str());
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return ArchiveError(out.get(), path);
    }
    if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
      int fd = ::open(archive_entry_sourcepath(entry), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return Failed(Errno(path));
      }
      ssize_t n = 0;
      while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
        if (archive_write_data(out.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
          ::close(fd);
          return ArchiveError(out.get(), path);
        }
      }
      ::close(fd);
      if (n < 0) {
        return Failed(Errno(path));
      }
    }
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return ArchiveError(out.get(), "writing the archive");
  }
  return grpc::Status::OK;
}

// What the container says of `path`: its stat, or NOT_FOUND, or another failure. Only the
// stat is wanted, so the archive that follows it is cut off at once.
grpc::Status ContainerStat(client::Client& client, const CpInvocation& cp, v1::PathStat* out) {
  bool got = false;
  grpc::Status st = client.CopyFromContainer(
      cp.container, cp.container_path,
      [&](const v1::PathStat& s) {
        *out = s;
        got = true;
      },
      [](std::string_view) { return false; });
  if (st.ok() && !got) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the server sent no stat for " + cp.container_path);
  }
  return st;
}

int CopyIn(const Invocation& invocation, client::Client& client, std::ostream& err) {
  const CpInvocation& cp = invocation.cp;
  v1::CopyTarget target;
  target.set_container(cp.container);
  target.set_copy_uid_gid(cp.archive);
  if (cp.host_path == "-") {
    target.set_path(cp.container_path);
    return Report(err,
                  client.CopyToContainer(target,
                                         [](std::string* piece, bool* eof) {
                                           piece->resize(kPiece);
                                           ssize_t n = 0;
                                           do {
                                             n = ::read(0, piece->data(), piece->size());
                                           } while (n < 0 && errno == EINTR);
                                           if (n < 0) {
                                             return Failed(Errno("reading stdin"));
                                           }
                                           piece->resize(static_cast<size_t>(n));
                                           *eof = n == 0;
                                           return grpc::Status::OK;
                                         }),
                  invocation);
  }
  std::string src = cp.host_path;
  while (src.size() > 1 && src.back() == '/') {
    src.pop_back();
  }
  struct stat st {};
  if (::lstat(src.c_str(), &st) != 0) {
    return Report(err, Failed(Errno(cp.host_path)), invocation);
  }
  // docker cp's rules for DEST in the container.
  std::string top = Basename(src);
  v1::PathStat dest;
  grpc::Status found = ContainerStat(client, cp, &dest);
  if (found.ok() && dest.is_dir()) {
    target.set_path(cp.container_path);
  } else if (found.ok() || found.error_code() == grpc::StatusCode::NOT_FOUND) {
    if (found.ok() && S_ISDIR(st.st_mode)) {
      return Report(err, Failed("cannot copy a directory to a file: " + cp.container_path),
                    invocation);
    }
    if (!found.ok() && !S_ISDIR(st.st_mode) && cp.container_path.back() == '/') {
      return Report(err, Failed("destination directory " + cp.container_path + " does not exist"),
                    invocation);
    }
    target.set_path(Dirname(cp.container_path));
    top = Basename(cp.container_path);
  } else {
    return Report(err, found, invocation);
  }
  Channel channel;
  if (!channel.ok()) {
    return Report(err, Failed(Errno("socketpair")), invocation);
  }
  grpc::Status packed;
  std::atomic<bool> pack_failed{false};
  std::thread packer([&] {
    packed = Pack(src, top, &channel);
    pack_failed = !packed.ok();
    channel.CloseWriter();
  });
  grpc::Status sent = client.CopyToContainer(target, [&](std::string* piece, bool* eof) {
    piece->resize(kPiece);
    ssize_t n = 0;
    do {
      n = ::read(channel.reader(), piece->data(), piece->size());
    } while (n < 0 && errno == EINTR);
    // A packer that failed half-way closed its end too: that end is no archive's end, and the
    // copy is abandoned rather than finished with a cut archive.
    if (n < 0 || (n == 0 && pack_failed)) {
      return Failed("packing " + cp.host_path + " failed");
    }
    piece->resize(static_cast<size_t>(n));
    *eof = n == 0;
    return grpc::Status::OK;
  });
  channel.CloseReader();
  packer.join();
  return Report(err, !packed.ok() ? packed : sent, invocation);
}

}  // namespace

bool SplitContainerArg(const std::string& arg, std::string* container, std::string* path) {
  if (arg.starts_with('/') || arg.starts_with('.')) {
    return false;
  }
  size_t colon = arg.find(':');
  if (colon == std::string::npos) {
    return false;
  }
  *container = arg.substr(0, colon);
  *path = arg.substr(colon + 1);
  return true;
}

CLI::App* AddCpCommand(CLI::App& app, CpInvocation& cp) {
  CLI::App* command = app.add_subcommand(
      "cp",
      "Copy files between a container and the host: cp CONTAINER:SRC DEST | cp SRC "
      "CONTAINER:DEST (`-` for a tar archive on stdout/stdin)");
  command->fallthrough();
  command->add_option("SRC", cp.source, "CONTAINER:SRC, a host path, or - (a tar on stdin)")
      ->required();
  command->add_option("DEST", cp.destination, "CONTAINER:DEST, a host path, or - (stdout)")
      ->required();
  command->add_flag("-a,--archive", cp.archive, "Archive mode (copy all uid/gid information)");
  return command;
}

grpc::Status FinishCpArgs(CpInvocation* cp) {
  std::string container;
  std::string path;
  const bool from = SplitContainerArg(cp->source, &container, &path);
  std::string dest_container;
  std::string dest_path;
  const bool to = SplitContainerArg(cp->destination, &dest_container, &dest_path);
  if (from == to) {
    return client::InvalidArgument(
        from ? "copying between containers is not supported"
             : "one of SRC and DEST must name a container path (CONTAINER:PATH)");
  }
  cp->to_container = to;
  cp->container = to ? dest_container : container;
  cp->host_path = to ? cp->source : cp->destination;
  path = to ? dest_path : path;
  if (cp->container.empty()) {
    return client::InvalidArgument("empty container name in \"" +
                                   (to ? cp->destination : cp->source) + "\"");
  }
  if (cp->host_path.empty()) {
    return client::InvalidArgument("empty host path");
  }
  // Container paths are relative to the container's root, as docker cp's.
  cp->container_path = path.starts_with('/') ? path : "/" + path;
  return grpc::Status::OK;
}

int ExecuteCp(const Invocation& invocation, client::Client& client, std::ostream& out,
              std::ostream& err) {
  return invocation.cp.to_container ? CopyIn(invocation, client, err)
                                    : CopyOut(invocation, client, out, err);
}

}  // namespace dockline::cli
