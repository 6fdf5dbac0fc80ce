// The user a command runs as, named as `docker run -u` names it, found in the guest root's own
// /etc/passwd and /etc/group (docker's rules: a number needs no entry; a name must have one).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "spec/run_spec.h"

namespace execvm::guest {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // without a group given: the groups of /etc/group listing the name
  std::string home = "/";     // the passwd entry's, or / when there is none
};

// Resolves USER ("name", "uid", "name:group", "uid:gid", "name:gid", "uid:group") against the
// text of a passwd and a group file (either may be empty). Without a group, the passwd entry's
// (0 for a number that has no entry). Throws Error (exit 125) for a name that is not there.
ResolvedUser resolve_user(std::string_view user, std::string_view passwd, std::string_view group);

// Resolves SPEC.user (when set) in this root's /etc/passwd and /etc/group into SPEC's uid, gid
// and groups, and adds HOME to its environment when it has none. Throws Error as resolve_user.
void take_user(RunSpec& spec);

}  // namespace execvm::guest
