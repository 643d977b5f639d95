#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/result.h"

// Named docklined endpoints, as docker's contexts: an address with its TLS material and token,
// kept under the user's configuration directory so that `--context NAME` (or DOCKLINE_CONTEXT,
// or `dockline context use NAME`) replaces the flags. The CLI, this library and the Python
// package (client/python/dockline/contexts.py) read the same store:
//
//   $XDG_CONFIG_HOME/dockline (else ~/.config/dockline), mode 0700
//     config.json                    {"currentContext": "NAME"}
//     contexts/NAME/meta.json        {"name", "address", "tls", "tlsServerName", "description"}
//     contexts/NAME/{ca,cert,key}.pem, token   copies made at create time, mode 0600
//
// Copies rather than paths: a context keeps working when the files it was made from move, and
// its secrets are readable by the user alone whatever the originals' modes were.
namespace dockline::client {

// Looks a variable up in the environment; injectable for tests.
using EnvGetter = std::function<std::optional<std::string>(const std::string&)>;

struct ContextEndpoint {
  std::string name;
  std::string address;
  std::string description;
  bool tls = false;  // also implied by any TLS file or the server name
  std::string tls_server_name;
  // Paths inside the store (empty: none).
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;
};

// What `context create` is given: the source files, copied into the store.
struct ContextSpec {
  std::string name;
  std::string address;
  std::string description;
  bool tls = false;
  std::string tls_server_name;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;
};

class ContextStore {
 public:
  // The store of this user: $XDG_CONFIG_HOME/dockline, else $HOME/.config/dockline.
  static Result<ContextStore> ForUser(const EnvGetter& env);
  ContextStore() = default;
  explicit ContextStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // ALREADY_EXISTS for a name in use; INVALID_ARGUMENT naming the option for a bad name,
  // address or file (the file's path, never its contents).
  Result<ContextEndpoint> Create(const ContextSpec& spec);
  // NOT_FOUND naming the context.
  Result<ContextEndpoint> Get(const std::string& name) const;
  // By name.
  Result<std::vector<ContextEndpoint>> List() const;
  // Also stops using it when it was the current one.
  grpc::Status Remove(const std::string& name);
  // "default" (or empty): no context, the address flags and their defaults.
  grpc::Status Use(const std::string& name);
  // The name `context use` chose, or "" for none.
  std::string Current() const;

 private:
  std::string ContextDir(const std::string& name) const;
  std::string root_;
};

// The context a command line names, in docker's order: an explicit one (--context), else
// $DOCKLINE_CONTEXT, else the store's current one. Nullopt when none is chosen ("default").
Result<std::optional<ContextEndpoint>> ResolveContext(const ContextStore& store,
                                                      const std::string& flag,
                                                      const EnvGetter& env);

// The options and address Client::Open takes for `context` (the PEM files and token read).
Result<ClientOptions> ContextClientOptions(const ContextEndpoint& context, ClientOptions base = {});

// Whether `name` can name a context: docker's rule, a letter or digit then letters, digits,
// '_', '.' or '-', and not "default".
grpc::Status ValidateContextName(const std::string& name);

}  // namespace dockline::client
