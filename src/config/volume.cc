#include "config/volume.h"

#include <vector>

#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr const char* kForm = "the form is -v HOST[:GUEST][:ro|:rw]";

}  // namespace

void check_guest_path(const std::string& guest, const std::string& label) {
  for (const char* own : {"/proc", "/sys", "/dev"}) {
    if (guest == own || starts_with(guest, std::string(own) + "/"))
      throw Error(label + ": " + own + " is the guest's own", "share it elsewhere, e.g. at /mnt");
  }
  if (guest == "/")
    throw Error(label + ": / is the guest's own (the host's, read-only)",
                "share it elsewhere, e.g. at /mnt");
}

Volume parse_volume(std::string_view text, const std::string& base, const std::string& label) {
  std::string name = label.empty() ? "-v " + shell_quote(text) : label;
  auto bad = [&](const std::string& what) { return Error(name + ": " + what, kForm); };
  Volume v;
  v.text = std::string(text);
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() > 3) throw bad("too many colons");
  if (parts.size() >= 2 && (parts.back() == "ro" || parts.back() == "rw")) {
    v.readonly = parts.back() == "ro";
    parts.pop_back();
  } else if (parts.size() == 3) {
    throw bad(shell_quote(parts.back()) + " is neither ro nor rw");
  }
  if (parts[0].empty()) throw bad("no host directory");
  v.host = lexical_absolute(base, parts[0]);
  if (parts.size() == 2) {
    if (parts[1].empty() || parts[1].front() != '/')
      throw bad("the guest path " + shell_quote(parts[1]) + " is not absolute");
    v.guest = lexical_absolute("/", parts[1]);
  }
  check_guest_path(v.guest.empty() ? v.host : v.guest, name);
  return v;
}

}  // namespace execvm
