// One -v HOST[:GUEST][:ro|:rw], as the command line and the project file's `volumes` give it.
// Parsing checks the syntax only; whether HOST exists is checked where the shares are planned.
#pragma once

#include <string>
#include <string_view>

namespace execvm {

struct Volume {
  std::string host;   // absolute, lexically normalized; a relative one made absolute against a base
  std::string guest;  // absolute, lexically normalized; empty when not given: the same as host
  bool readonly = false;
  std::string text;  // as written, for messages and origins
  bool operator==(const Volume&) const = default;
};

// Parses TEXT, a relative HOST being relative to BASE (absolute). Throws Error (exit 125)
// "LABEL: what is wrong" with the form as the hint; LABEL defaults to "-v TEXT".
Volume parse_volume(std::string_view text, const std::string& base, const std::string& label = "");

// Throws Error "LABEL: GUEST is the guest's own" when GUEST (absolute, normalized) is / or at
// or under /proc, /sys or /dev: the guest needs its own there, a share cannot replace them.
void check_guest_path(const std::string& guest, const std::string& label);

}  // namespace execvm
