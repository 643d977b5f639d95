#include "client/cli/context.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ostream>

#include "client/cli/cli.h"
#include "client/cli/format.h"

namespace dockline::cli {

CLI::App* AddContextCommand(CLI::App& app, ContextInvocation& context) {
  CLI::App* command = app.add_subcommand("context", "Manage contexts: named docklined endpoints");
  command->fallthrough();
  command->require_subcommand(1);
  client::ContextSpec& spec = context.spec;
  context.create = command->add_subcommand(
      "create", "Create a context: create NAME --addr ADDR [--tls...] [--token-file F]");
  context.create->fallthrough();
  context.create->add_option("NAME", spec.name, "The context's name")->required();
  // The global --addr and TLS flags would be taken for the context's own: the create command's
  // options shadow them.
  context.create->add_option("--addr", spec.address, "docklined address, HOST:PORT or unix:///PATH")
      ->required();
  context.create->add_option("--description", spec.description, "Description of the context");
  context.create->add_flag("--tls", spec.tls, "Use TLS, trusting the system's CAs unless --tls-ca");
  context.create->add_option("--tls-ca", spec.tls_ca, "CA PEM file (copied into the context)");
  context.create->add_option("--tls-cert", spec.tls_cert,
                             "Client certificate PEM file for mutual TLS (copied)");
  context.create->add_option("--tls-key", spec.tls_key,
                             "Its private key PEM file (copied, readable by you alone)");
  context.create->add_option("--tls-server-name", spec.tls_server_name,
                             "Check the server's certificate for this name");
  context.create->add_option("--token-file", spec.token_file,
                             "A file holding the bearer token (copied, readable by you alone)");
  context.list = command->add_subcommand("ls", "List contexts (the current one marked *)");
  context.list->alias("list");
  context.list->fallthrough();
  context.list->add_flag("-q,--quiet", context.quiet, "Only show context names");
  context.use = command->add_subcommand("use", "Set the current context (\"default\": none)");
  context.use->fallthrough();
  context.use->add_option("NAME", context.names, "The context's name")->required()->expected(1);
  context.remove = command->add_subcommand("rm", "Remove contexts");
  context.remove->alias("remove");
  context.remove->fallthrough();
  context.remove->add_option("NAME", context.names, "Context names")->required();
  context.inspect = command->add_subcommand("inspect", "Print contexts as JSON (no secrets)");
  context.inspect->fallthrough();
  context.inspect->add_option("NAME", context.names, "Context names (default: the current)");
  context.show = command->add_subcommand("show", "Print the current context's name");
  context.show->fallthrough();
  return command;
}

grpc::Status FinishContextArgs(ContextInvocation* context) {
  const std::pair<CLI::App*, ContextAction> actions[] = {
      {context->create, ContextAction::kCreate},   {context->list, ContextAction::kList},
      {context->use, ContextAction::kUse},         {context->remove, ContextAction::kRemove},
      {context->inspect, ContextAction::kInspect}, {context->show, ContextAction::kShow}};
  for (const auto& [command, action] : actions) {
    if (command != nullptr && command->parsed()) {
      context->action = action;
      return grpc::Status::OK;
    }
  }
  return client::InvalidArgument(
      "\"dockline context\" needs a command: create, ls, use, rm, inspect or show");
}

namespace {

nlohmann::json ContextJson(const client::ContextEndpoint& c, bool current) {
  return {{"Name", c.name},
          {"Current", current},
          {"Description", c.description},
          {"Address", c.address},
          {"TLS", c.tls},
          {"TLSServerName", c.tls_server_name},
          // Whether the store holds them; never their contents.
          {"TLSCA", !c.tls_ca.empty()},
          {"TLSCert", !c.tls_cert.empty()},
          {"Token", !c.token_file.empty()}};
}

}  // namespace

int ExecuteContext(const ContextInvocation& context, bool json, const EnvLookup& env,
                   std::ostream& out, std::ostream& err) {
  auto fail = [&](const grpc::Status& status) {
    fmt::print(err, "dockline: {}\n", status.error_message());
    return kExitCommandFailed;
  };
  client::Result<client::ContextStore> store = client::ContextStore::ForUser(env);
  if (!store.ok()) {
    return fail(store.status);
  }
  const std::string current = store.value.Current();
  switch (context.action) {
    case ContextAction::kCreate: {
      auto created = store.value.Create(context.spec);
      if (!created.ok()) {
        return fail(created.status);
      }
      out << created.value.name << '\n';
      fmt::print(err, "Successfully created context \"{}\"\n", created.value.name);
      return 0;
    }
    case ContextAction::kList: {
      auto contexts = store.value.List();
      if (!contexts.ok()) {
        return fail(contexts.status);
      }
      if (json) {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& c : contexts.value) {
          all.push_back(ContextJson(c, c.name == current));
        }
        out << all.dump() << '\n';
        return 0;
      }
      if (context.quiet) {
        out << "default\n";
        for (const auto& c : contexts.value) {
          out << c.name << '\n';
        }
        return 0;
      }
      std::vector<std::vector<std::string>> rows = {{"NAME", "DESCRIPTION", "ADDRESS", "TLS"}};
      rows.push_back({current.empty() ? "default *" : "default",
                      "the --addr flag, $DOCKLINE_ADDR or 127.0.0.1:50051", "", ""});
      for (const auto& c : contexts.value) {
        rows.push_back({c.name == current ? c.name + " *" : c.name, c.description, c.address,
                        c.tls ? "yes" : "no"});
      }
      out << FormatTable(rows);
      return 0;
    }
    case ContextAction::kUse: {
      if (grpc::Status st = store.value.Use(context.names.front()); !st.ok()) {
        return fail(st);
      }
      out << context.names.front() << '\n';
      fmt::print(err, "Current context is now \"{}\"\n", context.names.front());
      return 0;
    }
    case ContextAction::kRemove: {
      int status = 0;
      for (const std::string& name : context.names) {
        if (grpc::Status st = store.value.Remove(name); !st.ok()) {
          status = fail(st);
          continue;
        }
        out << name << '\n';
      }
      return status;
    }
    case ContextAction::kInspect: {
      std::vector<std::string> names = context.names;
      if (names.empty()) {
        if (current.empty()) {
          return fail(client::InvalidArgument(
              "no current context: name one (dockline context inspect NAME)"));
        }
        names.push_back(current);
      }
      nlohmann::json all = nlohmann::json::array();
      for (const std::string& name : names) {
        auto c = store.value.Get(name);
        if (!c.ok()) {
          return fail(c.status);
        }
        all.push_back(ContextJson(c.value, name == current));
      }
      out << all.dump(4) << '\n';
      return 0;
    }
    case ContextAction::kShow: {
      std::optional<std::string> chosen = env ? env("DOCKLINE_CONTEXT") : std::nullopt;
      out << (chosen && !chosen->empty() ? *chosen : current.empty() ? "default" : current) << '\n';
      return 0;
    }
    case ContextAction::kNone:
      break;
  }
  return fail(client::InvalidArgument("\"dockline context\" needs a command"));
}

}  // namespace dockline::cli
