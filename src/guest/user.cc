#include "guest/user.h"

#include <charconv>
#include <optional>

#include "util/error.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm::guest {

namespace {

std::optional<uint32_t> number(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The fields of each well-formed line of a colon-separated file with at least MIN fields.
std::vector<std::vector<std::string>> entries(std::string_view text, size_t min) {
  std::vector<std::vector<std::string>> out;
  for (const auto& line : split(std::string(text), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= min) out.push_back(std::move(fields));
  }
  return out;
}

}  // namespace

ResolvedUser resolve_user(std::string_view user, std::string_view passwd, std::string_view group) {
  std::string_view name = user, group_name;
  bool has_group = false;
  if (auto colon = user.find(':'); colon != std::string_view::npos) {
    name = user.substr(0, colon);
    group_name = user.substr(colon + 1);
    has_group = true;
  }
  if (name.empty()) throw Error("user '" + std::string(user) + "': no user name or number");
  auto users = entries(passwd, 7);
  auto groups = entries(group, 3);

  ResolvedUser out;
  std::string login;  // the passwd entry's name, for group membership
  auto uid = number(name);
  const std::vector<std::string>* entry = nullptr;
  for (const auto& e : users)
    if (uid ? number(e[2]) == uid : e[0] == name) {
      entry = &e;
      break;
    }
  if (entry) {
    out.uid = number((*entry)[2]).value_or(0);
    out.gid = number((*entry)[3]).value_or(0);
    out.home = (*entry)[5].empty() ? "/" : (*entry)[5];
    login = (*entry)[0];
  } else if (uid) {
    out.uid = *uid;
  } else {
    throw Error("unable to find user " + std::string(name) +
                    ": no matching entries in the image's /etc/passwd",
                "give a uid instead (-u 1000 or -u 1000:1000)");
  }

  if (has_group) {
    if (group_name.empty()) throw Error("user '" + std::string(user) + "': no group after ':'");
    auto gid = number(group_name);
    bool found = false;
    for (const auto& g : groups)
      if (gid ? number(g[2]) == gid : g[0] == group_name) {
        out.gid = number(g[2]).value_or(0);
        found = true;
        break;
      }
    if (!found && !gid)
      throw Error("unable to find group " + std::string(group_name) +
                      ": no matching entries in the image's /etc/group",
                  "give a gid instead (-u USER:1000)");
    if (!found) out.gid = *gid;
  }

  // Supplementary groups only in the implicit form, as runc has it: a group given names the one.
  if (!login.empty() && !has_group) {
    for (const auto& g : groups) {
      if (g.size() < 4) continue;
      for (const auto& member : split(g[3], ','))
        if (member == login) {
          auto gid = number(g[2]);
          if (gid && *gid != out.gid) out.groups.push_back(*gid);
        }
    }
  }
  return out;
}

void take_user(RunSpec& spec) {
  if (spec.user.empty()) return;
  auto text = [](const char* path) {
    try {
      return read_file(path);
    } catch (const Error&) {
      return std::string();  // an image without the file: numbers only
    }
  };
  ResolvedUser u = resolve_user(spec.user, text("/etc/passwd"), text("/etc/group"));
  spec.uid = u.uid;
  spec.gid = u.gid;
  spec.groups.assign(u.groups.begin(), u.groups.end());
  bool has_home = false;
  for (const auto& e : spec.env) has_home = has_home || e.starts_with("HOME=");
  if (!has_home) spec.env.push_back("HOME=" + u.home);
}

}  // namespace execvm::guest
