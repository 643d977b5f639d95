#include "server/codec/exec_codec.h"

#include <string>
#include <utility>

#include "server/codec/field_error.h"
#include "server/codec/json_util.h"
#include "server/codec/validate.h"

namespace dockline::server {

using engine::StreamKind;

grpc::Status PlanExec(const v1::ExecConfig& config, ExecMode mode, ExecPlan* plan) {
  if (grpc::Status st = ValidateContainerRef("config.container", config.container()); !st.ok()) {
    return st;
  }
  if (config.cmd().empty()) {
    return InvalidField("config.cmd", "must not be empty (the command to run, as argv)");
  }
  if (config.cmd(0).empty()) {
    return InvalidField("config.cmd[0]", "must not be empty");
  }
  for (int i = 0; i < config.cmd_size(); ++i) {
    if (config.cmd(i).find('\0') != std::string::npos) {
      return InvalidField("config.cmd[" + std::to_string(i) + "]", "must not contain NUL bytes");
    }
  }
  for (int i = 0; i < config.env_size(); ++i) {
    const std::string& entry = config.env(i);
    // "KEY" alone is passed on: the daemon then removes KEY from the exec's environment.
    if (entry.empty() || entry[0] == '=' || entry.find('\0') != std::string::npos) {
      return InvalidField("config.env[" + std::to_string(i) + "]",
                          "want KEY=value, got \"" + entry + "\"");
    }
  }
  if (config.stdin() && mode != ExecMode::kAttached) {
    return InvalidField("config.stdin", "only AttachExec can feed stdin");
  }

  ExecPlan out;
  out.container = config.container();
  out.tty = config.tty();
  out.detach = mode == ExecMode::kDetached;
  out.stdin = config.stdin() && mode == ExecMode::kAttached;
  const bool want_stdout = !config.has_stdout() || config.stdout();
  const bool want_stderr = !config.has_stderr() || config.stderr();
  if (out.tty) {
    // A TTY merges both into one stream, which the daemon sends as stdout.
    out.deliver_stdout = want_stdout || want_stderr;
    out.deliver_stderr = false;
  } else {
    out.deliver_stdout = want_stdout;
    out.deliver_stderr = want_stderr;
  }
  bool attach_stdout = out.tty || want_stdout || !want_stderr;
  bool attach_stderr = !out.tty && want_stderr;
  if (out.detach) {
    // A detached start attaches nothing; asking for streams would only confuse the inspect.
    attach_stdout = false;
    attach_stderr = false;
  }

  nlohmann::json body = {
      {"AttachStdin", out.stdin},          {"AttachStdout", attach_stdout},
      {"AttachStderr", attach_stderr},     {"Tty", out.tty},
      {"Privileged", config.privileged()}, {"User", config.user()},
      {"Cmd", nlohmann::json::array()},
  };
  for (const std::string& arg : config.cmd()) {
    body["Cmd"].push_back(arg);
  }
  if (config.env_size() > 0) {
    body["Env"] = nlohmann::json::array();
    for (const std::string& entry : config.env()) {
      body["Env"].push_back(entry);
    }
  }
  if (!config.workdir().empty()) {
    body["WorkingDir"] = config.workdir();
  }
  out.create_body = std::move(body);
  *plan = std::move(out);
  return grpc::Status::OK;
}

bool ExecInspectFromJson(const nlohmann::json& j, v1::InspectExecResponse* out) {
  if (!j.is_object() || GetString(j, "ID").empty()) {
    return false;
  }
  out->set_exec_id(GetString(j, "ID"));
  out->set_container_id(GetString(j, "ContainerID"));
  out->set_running(GetBool(j, "Running"));
  if (const auto* code = Member(j, "ExitCode"); code != nullptr && code->is_number()) {
    out->set_exit_code(static_cast<int32_t>(GetInt(j, "ExitCode")));
  }
  out->set_pid(GetInt(j, "Pid"));
  if (const auto* process = Member(j, "ProcessConfig"); process != nullptr) {
    std::string entrypoint = GetString(*process, "entrypoint");
    if (!entrypoint.empty()) {
      out->add_cmd(entrypoint);
    }
    if (const auto* args = Member(*process, "arguments"); args != nullptr && args->is_array()) {
      for (const auto& arg : *args) {
        if (arg.is_string()) {
          out->add_cmd(arg.get<std::string>());
        }
      }
    }
    out->set_tty(GetBool(*process, "tty"));
    out->set_privileged(GetBool(*process, "privileged"));
    out->set_user(GetString(*process, "user"));
  }
  return true;
}

ExecOutputDecoder::ExecOutputDecoder(bool tty, bool deliver_stdout, bool deliver_stderr)
    : tty_(tty), deliver_stdout_(deliver_stdout), deliver_stderr_(deliver_stderr) {}

engine::Status ExecOutputDecoder::Feed(std::string_view bytes, std::vector<OutputPiece>* pieces) {
  if (tty_) {
    if (deliver_stdout_ && !bytes.empty()) {
      pieces->push_back(OutputPiece{StreamKind::kStdout, bytes});
    }
    return engine::Status::Ok();
  }
  return demux_.Feed(bytes, [this, pieces](StreamKind kind, std::string_view payload) {
    switch (kind) {
      case StreamKind::kStdout:
        if (deliver_stdout_) {
          pieces->push_back(OutputPiece{StreamKind::kStdout, payload});
        }
        break;
      case StreamKind::kStderr:
        if (deliver_stderr_) {
          pieces->push_back(OutputPiece{StreamKind::kStderr, payload});
        }
        break;
      case StreamKind::kSystemErr:
        // The daemon's own error text: never dropped while some stream is relayed.
        if (deliver_stderr_ || deliver_stdout_) {
          pieces->push_back(
              OutputPiece{deliver_stderr_ ? StreamKind::kStderr : StreamKind::kStdout, payload});
        }
        break;
      case StreamKind::kStdin:
        break;
    }
  });
}

void CapturedOutput::Add(StreamKind kind, std::string_view data) {
  size_t& kept = kind == StreamKind::kStderr ? stderr_kept_ : stdout_kept_;
  size_t room = cap_ > kept ? cap_ - kept : 0;
  if (data.size() > room) {
    truncated_ = true;
    data = data.substr(0, room);
  }
  if (data.empty()) {
    return;
  }
  kept += data.size();
  if (!demux_) {
    output_.append(data);
  } else if (kind == StreamKind::kStderr) {
    stderr_.append(data);
  } else {
    stdout_.append(data);
  }
}

void CapturedOutput::MoveTo(v1::ExecContainerResponse* response) {
  if (demux_) {
    response->set_stdout(std::move(stdout_));
    response->set_stderr(std::move(stderr_));
  } else {
    response->set_output(std::move(output_));
  }
  response->set_truncated(truncated_);
}

}  // namespace dockline::server
