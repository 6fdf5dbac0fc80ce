#include "spec/run_spec.h"

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace execvm {

using nlohmann::json;

namespace {

json bytes_to_json(const std::string& bytes) {
  if (is_utf8(bytes)) return bytes;
  return json{{"base64", base64_encode(bytes)}};
}

std::string bytes_from_json(const json& j, const std::string& field) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.size() == 1 && j.contains("base64") && j["base64"].is_string()) {
    if (auto bytes = base64_decode(j["base64"].get<std::string>())) return *bytes;
  }
  throw SpecError(field + ": expected a string or {\"base64\": ...}");
}

json byte_list(const std::vector<std::string>& list) {
  json out = json::array();
  for (const auto& s : list) out.push_back(bytes_to_json(s));
  return out;
}

std::vector<std::string> byte_list_from(const json& j, const std::string& field) {
  if (!j.is_array()) throw SpecError(field + ": expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(bytes_from_json(j[i], field + "[" + std::to_string(i) + "]"));
  return out;
}

template <typename T>
void read_number(const json& j, const char* field, T& out) {
  if (!j.contains(field)) return;
  const json& v = j[field];
  if (!v.is_number_integer()) throw SpecError(std::string(field) + ": expected an integer");
  out = v.get<T>();
}

void read_bool(const json& j, const char* field, bool& out) {
  if (!j.contains(field)) return;
  if (!j[field].is_boolean()) throw SpecError(std::string(field) + ": expected true or false");
  out = j[field].get<bool>();
}

json mount_to_json(const MountSpec& m) {
  return {{"source", bytes_to_json(m.source)},
          {"target", bytes_to_json(m.target)},
          {"fstype", m.fstype},
          {"options", m.options},
          {"readonly", m.readonly}};
}

MountSpec mount_from_json(const json& m, const std::string& field) {
  if (!m.is_object()) throw SpecError(field + ": expected objects");
  MountSpec mount;
  mount.source = bytes_from_json(m.value("source", json("")), field + ".source");
  mount.target = bytes_from_json(m.value("target", json("")), field + ".target");
  if (!m.value("fstype", json("")).is_string() || !m.value("options", json("")).is_string())
    throw SpecError(field + ": fstype and options must be strings");
  mount.fstype = m.value("fstype", "");
  mount.options = m.value("options", "");
  read_bool(m, "readonly", mount.readonly);
  return mount;
}

// The isolation fields: the confinement's capabilities by name, the network's addresses.
void isolation_to_json(const RunSpec& spec, json& j) {
  if (spec.capabilities)
    j["confinement"] = {{"capabilities", capability_names(*spec.capabilities)}};
  if (!spec.network.address.empty())
    j["network"] = {{"address", spec.network.address},
                    {"gateway", spec.network.gateway},
                    {"dns", spec.network.dns}};
}

void isolation_from_json(const json& j, RunSpec& spec) {
  if (j.contains("confinement")) {
    const json& c = j["confinement"];
    if (!c.is_object() || !c.contains("capabilities") || !c["capabilities"].is_array())
      throw SpecError("confinement: expected {\"capabilities\": [...]}");
    std::vector<std::string> names;
    for (const auto& name : c["capabilities"]) {
      if (!name.is_string()) throw SpecError("confinement.capabilities: expected names");
      names.push_back(name.get<std::string>());
    }
    spec.capabilities = capability_set(names);
    if (!spec.capabilities) throw SpecError("confinement.capabilities: an unknown capability");
  }
  if (j.contains("network")) {
    const json& n = j["network"];
    if (!n.is_object()) throw SpecError("network: expected an object");
    for (auto [field, out] :
         {std::pair{"address", &spec.network.address}, std::pair{"gateway", &spec.network.gateway},
          std::pair{"dns", &spec.network.dns}}) {
      if (!n.contains(field) || !n[field].is_string())
        throw SpecError(std::string("network.") + field + ": expected a string");
      *out = n[field].get<std::string>();
    }
  }
}

}  // namespace

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e[name.size()] == '=' && e.starts_with(name))
      return e.substr(name.size() + 1);
  return "";
}

std::string command_path(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.starts_with("PATH=")) return e.substr(5);
  return kDefaultPath;
}

std::string spec_to_json(const RunSpec& spec) {
  json mounts = json::array();
  for (const auto& m : spec.mounts) mounts.push_back(mount_to_json(m));
  json j = {
      {"argv", byte_list(spec.argv)},
      {"env", byte_list(spec.env)},
      {"cwd", bytes_to_json(spec.cwd)},
      {"uid", spec.uid},
      {"gid", spec.gid},
      {"groups", spec.groups},
      {"user", bytes_to_json(spec.user)},
      {"umask", spec.umask},
      {"ignored_signals", spec.ignored_signals},
      {"tty", spec.tty},
      {"stderr_tty", spec.stderr_tty},
      {"stderr_to_stdout", spec.stderr_to_stdout},
      {"closed_fds", spec.closed_fds},
      {"stack_limit", spec.stack_limit},
      {"rows", spec.rows},
      {"cols", spec.cols},
      {"hostname", spec.hostname},
      {"mounts", mounts},
  };
  if (!spec.root.fstype.empty()) j["root"] = mount_to_json(spec.root);
  if (!spec.outputs.empty()) j["outputs"] = byte_list(spec.outputs);
  isolation_to_json(spec, j);
  return j.dump();
}

RunSpec spec_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw SpecError("the run spec is not valid JSON");
  if (!j.is_object()) throw SpecError("the run spec is not a JSON object");
  RunSpec spec;
  try {
    if (!j.contains("argv")) throw SpecError("argv: missing");
    spec.argv = byte_list_from(j["argv"], "argv");
    if (spec.argv.empty()) throw SpecError("argv: empty");
    if (j.contains("env")) spec.env = byte_list_from(j["env"], "env");
    if (j.contains("cwd")) spec.cwd = bytes_from_json(j["cwd"], "cwd");
    read_number(j, "uid", spec.uid);
    read_number(j, "gid", spec.gid);
    if (j.contains("groups")) {
      if (!j["groups"].is_array()) throw SpecError("groups: expected a list");
      for (const auto& g : j["groups"]) {
        if (!g.is_number_unsigned()) throw SpecError("groups: expected group ids");
        spec.groups.push_back(g.get<uint32_t>());
      }
    }
    if (j.contains("user")) spec.user = bytes_from_json(j["user"], "user");
    read_number(j, "umask", spec.umask);
    if (j.contains("ignored_signals")) {
      if (!j["ignored_signals"].is_array()) throw SpecError("ignored_signals: expected a list");
      for (const auto& s : j["ignored_signals"]) {
        if (!s.is_number_integer() || s.get<int>() < 1 || s.get<int>() > 64)
          throw SpecError("ignored_signals: expected signal numbers");
        spec.ignored_signals.push_back(s.get<int>());
      }
    }
    read_bool(j, "tty", spec.tty);
    read_bool(j, "stderr_tty", spec.stderr_tty);
    read_bool(j, "stderr_to_stdout", spec.stderr_to_stdout);
    if (j.contains("closed_fds")) {
      if (!j["closed_fds"].is_array()) throw SpecError("closed_fds: expected a list");
      for (const auto& fd : j["closed_fds"]) {
        if (!fd.is_number_integer() || (fd.get<int>() != 1 && fd.get<int>() != 2))
          throw SpecError("closed_fds: expected 1 or 2");
        spec.closed_fds.push_back(fd.get<int>());
      }
    }
    read_number(j, "stack_limit", spec.stack_limit);
    read_number(j, "rows", spec.rows);
    read_number(j, "cols", spec.cols);
    if (j.contains("hostname")) {
      if (!j["hostname"].is_string()) throw SpecError("hostname: expected a string");
      spec.hostname = j["hostname"].get<std::string>();
    }
    if (j.contains("mounts")) {
      if (!j["mounts"].is_array()) throw SpecError("mounts: expected a list");
      for (const auto& m : j["mounts"]) spec.mounts.push_back(mount_from_json(m, "mounts"));
    }
    if (j.contains("root")) spec.root = mount_from_json(j["root"], "root");
    if (j.contains("outputs")) {
      spec.outputs = byte_list_from(j["outputs"], "outputs");
      for (const auto& path : spec.outputs)
        if (path.empty() || path.find('\0') != std::string::npos)
          throw SpecError("outputs: expected paths");
    }
    isolation_from_json(j, spec);
  } catch (const json::exception& e) {
    throw SpecError(std::string("bad run spec: ") + e.what());
  }
  return spec;
}

}  // namespace execvm
