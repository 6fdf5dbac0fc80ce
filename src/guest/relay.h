// The guest's relay: the command's stdio <-> frames on the channel, until the command has exited
// and everything it wrote has been queued for the host.
#pragma once

#include "guest/channel.h"
#include "guest/spawn.h"
#include "protocol/frame.h"

namespace execvm::guest {

// Relays CHILD's stdio over CHANNEL until the command exits and its output is drained; reaps
// every other process that ends meanwhile (the agent is PID 1). SIGCHLD must be blocked and
// SIGCHLD_FD a signalfd for it. Returns how the command ended. Throws Error when the host is gone
// and ProtocolError on garbage from it.
protocol::ExitStatus relay(Channel& channel, Child& child, int sigchld_fd);

}  // namespace execvm::guest
