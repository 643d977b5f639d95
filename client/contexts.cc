#include "client/contexts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "client/credentials.h"

namespace dockline::client {
namespace fs = std::filesystem;

namespace {

grpc::Status Failed(grpc::StatusCode code, std::string message) {
  return grpc::Status(code, std::move(message));
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// Written to a temporary file with `mode` from the start (never readable by others, not even
// for a moment), then renamed over `path`: a reader sees the old file or the new, whole.
grpc::Status WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return Failed(grpc::StatusCode::FAILED_PRECONDITION,
                  "cannot write " + tmp + ": " + std::strerror(errno));
  }
  // The umask may have narrowed `mode`; it must not widen it, and fchmod makes it exact.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    done += n > 0 ? static_cast<size_t>(n) : 0;
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Failed(grpc::StatusCode::FAILED_PRECONDITION, "cannot write " + path + ": " + why);
  }
  return grpc::Status::OK;
}

grpc::Status MakePrivateDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec || ::chmod(path.c_str(), 0700) != 0) {
    return Failed(grpc::StatusCode::FAILED_PRECONDITION,
                  "cannot make " + path + ": " + (ec ? ec.message() : std::strerror(errno)));
  }
  return grpc::Status::OK;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

grpc::Status ValidateContextName(const std::string& name) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("context name \"" + name + "\": " + why);
  };
  if (name.empty()) {
    return InvalidArgument("context name: must not be empty");
  }
  if (name == "default") {
    return bad("\"default\" is the absence of a context (the address flags and their defaults)");
  }
  if (name.size() > 100) {
    return bad("must be at most 100 characters");
  }
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!word(name.front()) || !std::all_of(name.begin(), name.end(), [&](char c) {
        return word(c) || c == '_' || c == '.' || c == '-';
      })) {
    return bad("want a letter or digit, then letters, digits, '_', '.' or '-'");
  }
  return grpc::Status::OK;
}

Result<ContextStore> ContextStore::ForUser(const EnvGetter& env) {
  auto get = [&](const char* name) -> std::string {
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    return value.value_or("");
  };
  std::string base = get("XDG_CONFIG_HOME");
  // XDG: a relative path is to be ignored.
  if (base.empty() || base.front() != '/') {
    std::string home = get("HOME");
    if (home.empty()) {
      return Error<ContextStore>(Failed(grpc::StatusCode::FAILED_PRECONDITION,
                                        "contexts: neither XDG_CONFIG_HOME nor HOME is set"));
    }
    base = home + "/.config";
  }
  return Ok(ContextStore(base + "/dockline"));
}

std::string ContextStore::ContextDir(const std::string& name) const {
  return root_ + "/contexts/" + name;
}

Result<ContextEndpoint> ContextStore::Create(const ContextSpec& spec) {
  if (grpc::Status st = ValidateContextName(spec.name); !st.ok()) {
    return Error<ContextEndpoint>(st);
  }
  if (spec.address.empty()) {
    return Error<ContextEndpoint>(InvalidArgument("--addr: a context needs an address"));
  }
  if (spec.tls_cert.empty() != spec.tls_key.empty()) {
    return Error<ContextEndpoint>(InvalidArgument(
        spec.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key"));
  }
  const std::string dir = ContextDir(spec.name);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return Error<ContextEndpoint>(
        Failed(grpc::StatusCode::ALREADY_EXISTS, "context \"" + spec.name + "\" already exists"));
  }
  // Everything is read before anything is written: a bad file leaves no half-made context.
  struct Copy {
    const char* flag;
    const std::string* source;
    const char* file;
    bool pem;
  };
  const Copy copies[] = {{"--tls-ca", &spec.tls_ca, "ca.pem", true},
                         {"--tls-cert", &spec.tls_cert, "cert.pem", true},
                         {"--tls-key", &spec.tls_key, "key.pem", true},
                         {"--token-file", &spec.token_file, "token", false}};
  std::vector<std::pair<std::string, std::string>> files;  // store file, content
  for (const Copy& copy : copies) {
    if (copy.source->empty()) {
      continue;
    }
    std::string content;
    if (copy.pem) {
      Result<std::string> pem = ReadPemFile(*copy.source);
      if (!pem.ok()) {
        return Error<ContextEndpoint>(
            InvalidArgument(std::string(copy.flag) + ": " + pem.status.error_message()));
      }
      content = std::move(pem.value);
    } else {
      std::optional<std::string> token = ReadFile(*copy.source);
      if (!token) {
        return Error<ContextEndpoint>(
            InvalidArgument(std::string(copy.flag) + ": cannot read " + *copy.source));
      }
      // A trailing newline is the editor's, not the token's.
      while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) {
        token->pop_back();
      }
      if (token->empty()) {
        return Error<ContextEndpoint>(
            InvalidArgument(std::string(copy.flag) + ": " + *copy.source + " is empty"));
      }
      content = std::move(*token);
    }
    files.emplace_back(copy.file, std::move(content));
  }
  ContextEndpoint context;
  context.name = spec.name;
  context.address = spec.address;
  context.description = spec.description;
  context.tls_server_name = spec.tls_server_name;
  context.tls =
      spec.tls || !spec.tls_ca.empty() || !spec.tls_cert.empty() || !spec.tls_server_name.empty();
  for (const grpc::Status& st :
       {MakePrivateDir(root_), MakePrivateDir(root_ + "/contexts"), MakePrivateDir(dir)}) {
    if (!st.ok()) {
      return Error<ContextEndpoint>(st);
    }
  }
  for (const auto& [file, content] : files) {
    if (grpc::Status st = WriteFile(dir + "/" + file, content, 0600); !st.ok()) {
      fs::remove_all(dir, ec);
      return Error<ContextEndpoint>(st);
    }
  }
  nlohmann::json meta = {{"name", context.name},
                         {"address", context.address},
                         {"description", context.description},
                         {"tls", context.tls},
                         {"tlsServerName", context.tls_server_name}};
  if (grpc::Status st = WriteFile(dir + "/meta.json", meta.dump(2) + "\n", 0600); !st.ok()) {
    fs::remove_all(dir, ec);
    return Error<ContextEndpoint>(st);
  }
  return Get(spec.name);
}

Result<ContextEndpoint> ContextStore::Get(const std::string& name) const {
  if (grpc::Status st = ValidateContextName(name); !st.ok()) {
    return Error<ContextEndpoint>(st);
  }
  const std::string dir = ContextDir(name);
  std::optional<std::string> text = ReadFile(dir + "/meta.json");
  if (!text) {
    return Error<ContextEndpoint>(Failed(
        grpc::StatusCode::NOT_FOUND,
        "context \"" + name + "\" does not exist (in " + root_ + "; see dockline context ls)"));
  }
  nlohmann::json meta = nlohmann::json::parse(*text, nullptr, false);
  if (!meta.is_object()) {
    return Error<ContextEndpoint>(Failed(grpc::StatusCode::FAILED_PRECONDITION,
                                         dir + "/meta.json is not a context's JSON object"));
  }
  ContextEndpoint context;
  context.name = name;
  context.address = StringField(meta, "address");
  context.description = StringField(meta, "description");
  context.tls_server_name = StringField(meta, "tlsServerName");
  auto tls = meta.find("tls");
  context.tls = tls != meta.end() && tls->is_boolean() && tls->get<bool>();
  std::error_code ec;
  const std::pair<const char*, std::string*> files[] = {{"ca.pem", &context.tls_ca},
                                                        {"cert.pem", &context.tls_cert},
                                                        {"key.pem", &context.tls_key},
                                                        {"token", &context.token_file}};
  for (const auto& [file, field] : files) {
    if (fs::exists(dir + "/" + file, ec)) {
      *field = dir + "/" + file;
    }
  }
  if (context.address.empty()) {
    return Error<ContextEndpoint>(
        Failed(grpc::StatusCode::FAILED_PRECONDITION, dir + "/meta.json has no address"));
  }
  return Ok(std::move(context));
}

Result<std::vector<ContextEndpoint>> ContextStore::List() const {
  std::vector<ContextEndpoint> contexts;
  std::error_code ec;
  fs::directory_iterator it(root_ + "/contexts", ec);
  if (ec) {
    // No store yet: no contexts.
    return Ok(std::move(contexts));
  }
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!ValidateContextName(name).ok()) {
      continue;
    }
    Result<ContextEndpoint> context = Get(name);
    if (!context.ok()) {
      return Error<std::vector<ContextEndpoint>>(context.status);
    }
    contexts.push_back(std::move(context.value));
  }
  std::sort(contexts.begin(), contexts.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return Ok(std::move(contexts));
}

grpc::Status ContextStore::Remove(const std::string& name) {
  Result<ContextEndpoint> context = Get(name);
  if (!context.ok()) {
    return context.status;
  }
  if (Current() == name) {
    if (grpc::Status st = Use("default"); !st.ok()) {
      return st;
    }
  }
  std::error_code ec;
  fs::remove_all(ContextDir(name), ec);
  if (ec) {
    return Failed(grpc::StatusCode::FAILED_PRECONDITION,
                  "cannot remove " + ContextDir(name) + ": " + ec.message());
  }
  return grpc::Status::OK;
}

grpc::Status ContextStore::Use(const std::string& name) {
  std::string current;
  if (!name.empty() && name != "default") {
    Result<ContextEndpoint> context = Get(name);
    if (!context.ok()) {
      return context.status;
    }
    current = name;
  }
  if (grpc::Status st = MakePrivateDir(root_); !st.ok()) {
    return st;
  }
  nlohmann::json config = nlohmann::json::object();
  if (std::optional<std::string> text = ReadFile(root_ + "/config.json")) {
    nlohmann::json old = nlohmann::json::parse(*text, nullptr, false);
    if (old.is_object()) {
      config = std::move(old);  // keeps what other versions wrote there
    }
  }
  config["currentContext"] = current;
  return WriteFile(root_ + "/config.json", config.dump(2) + "\n", 0600);
}

std::string ContextStore::Current() const {
  std::optional<std::string> text = ReadFile(root_ + "/config.json");
  if (!text) {
    return "";
  }
  nlohmann::json config = nlohmann::json::parse(*text, nullptr, false);
  return config.is_object() ? StringField(config, "currentContext") : std::string();
}

Result<std::optional<ContextEndpoint>> ResolveContext(const ContextStore& store,
                                                      const std::string& flag,
                                                      const EnvGetter& env) {
  using Resolved = std::optional<ContextEndpoint>;
  std::string name = flag;
  if (name.empty() && env) {
    name = env("DOCKLINE_CONTEXT").value_or("");
  }
  if (name.empty()) {
    name = store.Current();
  }
  if (name.empty() || name == "default") {
    return Ok(Resolved());
  }
  Result<ContextEndpoint> context = store.Get(name);
  if (!context.ok()) {
    return Error<Resolved>(context.status);
  }
  return Ok(Resolved(std::move(context.value)));
}

Result<ClientOptions> ContextClientOptions(const ContextEndpoint& context, ClientOptions base) {
  if (!context.token_file.empty()) {
    std::optional<std::string> token = ReadFile(context.token_file);
    if (!token) {
      return Error<ClientOptions>(
          Failed(grpc::StatusCode::FAILED_PRECONDITION, "cannot read " + context.token_file));
    }
    base.token = std::move(*token);
  }
  if (context.tls) {
    TlsOptions& tls = base.tls.emplace();
    tls.server_name = context.tls_server_name;
    const std::pair<const std::string*, std::string*> files[] = {
        {&context.tls_ca, &tls.root_ca_pem},
        {&context.tls_cert, &tls.cert_chain_pem},
        {&context.tls_key, &tls.private_key_pem}};
    for (const auto& [path, pem] : files) {
      if (path->empty()) {
        continue;
      }
      Result<std::string> read = ReadPemFile(*path);
      if (!read.ok()) {
        return Error<ClientOptions>(read.status);
      }
      *pem = std::move(read.value);
    }
  }
  return Ok(std::move(base));
}

}  // namespace dockline::client
