// The signals of one run. SIGINT, SIGTERM, SIGHUP and SIGQUIT are for the command, SIGWINCH and
// SIGCONT tell of the caller's terminal: each is blocked and read from a signalfd by the relay,
// except those the caller ignores, which a locally exec'd command would ignore too, so they stay
// ignored (and the guest's command ignores them as well). SIGPIPE is ignored: a reader that went
// away is an error to handle, not death.
#pragma once

#include <signal.h>

#include <vector>

#include "util/fd.h"

namespace execvm {

class RunSignals {
 public:
  // Before any thread is started, so that every thread has them blocked. They stay blocked: a
  // run is the last thing execvm does, and one that arrives at its very end is not to kill it
  // before it has reported.
  explicit RunSignals(const std::vector<int>& ignored);

  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
};

}  // namespace execvm
