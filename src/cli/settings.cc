#include "cli/settings.h"

#include <unistd.h>

#include "config/project_file.h"
#include "root/host_root.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

std::string origin_of(const RunOptions& o, const std::string& name) {
  auto it = o.origins.find(name);
  return it == o.origins.end() ? "default" : it->second;
}

}  // namespace

void apply_project_file(RunOptions& o) {
  std::string cwd = o.workdir.empty() ? current_directory() : o.workdir;
  std::optional<std::string> path = find_project_file(cwd, find_work_tree(cwd));
  if (!path) return;
  ProjectFile file = read_project_file(*path);
  o.project_file = file.path;
  // A setting given on the command line stays; one from the file fills a gap.
  auto take = [&](const char* name, const auto& setting, auto&& set) {
    if (!setting || o.origins.count(name)) return;
    set(setting->value);
    o.origins[name] = setting->origin;
  };
  take("kernel", file.kernel, [&](const std::string& v) { o.kernel = v; });
  take("cpus", file.cpus, [&](unsigned v) { o.cpus = v; });
  take("memory", file.memory_mib, [&](uint64_t v) { o.memory_mib = v; });
  take("sudo", file.sudo, [&](bool v) { o.sudo = v; });
  take("accel", file.accel,
       [&](const std::string& v) { o.accel = parse_accel_request("accel in " + file.path, v); });
  take("share-fs", file.share_fs,
       [&](const std::string& v) { o.share_fs = parse_share_fs("share-fs in " + file.path, v); });
  take("timeout", file.timeout, [&](std::chrono::milliseconds v) { o.timeout = v; });
  std::vector<std::string> volumes, env;
  for (const auto& v : file.volumes) {
    volumes.push_back(v.value);
    o.origins.try_emplace("volume " + v.value, v.origin);
  }
  for (const auto& e : file.env) {
    env.push_back(e.value);
    o.origins.try_emplace("env " + e.value, e.origin);
  }
  o.volumes.insert(o.volumes.begin(), volumes.begin(), volumes.end());
  o.env.insert(o.env.begin(), env.begin(), env.end());
}

std::vector<std::pair<std::string, std::string>> describe_settings(const RunOptions& o) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const std::string& name, const std::string& value) {
    out.push_back({name + " " + value, origin_of(o, name)});
  };
  add("kernel", o.kernel.empty() ? "execvm's own" : o.kernel);
  add("accel", o.accel == AccelRequest::kAuto  ? "auto"
               : o.accel == AccelRequest::kKvm ? "kvm"
                                               : "tcg");
  add("cpus", std::to_string(o.cpus));
  add("memory", std::to_string(o.memory_mib) + "M");
  add("share-fs", share_fs_name(o.share_fs));
  add("sudo", o.sudo ? "yes" : "no");
  add("timeout", o.timeout ? format_duration(*o.timeout) : "none");
  for (const auto& v : o.volumes) out.push_back({"volume " + v, origin_of(o, "volume " + v)});
  for (const auto& e : o.env) out.push_back({"env " + e, origin_of(o, "env " + e)});
  return out;
}

}  // namespace execvm
