#include "host/signals.h"

#include <sys/signalfd.h>

#include <algorithm>

#include "util/error.h"

namespace execvm {

RunSignals::RunSignals(const std::vector<int>& ignored) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCONT})
    if (std::find(ignored.begin(), ignored.end(), sig) == ignored.end()) sigaddset(&set, sig);
  ::signal(SIGPIPE, SIG_IGN);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) throw_errno("signalfd");
}

}  // namespace execvm
