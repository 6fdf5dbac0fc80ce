// The guest's relay: the command's stdio <-> frames on the channel, until the command has exited
// and every process holding its stdout and stderr has closed them (a background job's output
// arrives as it would through a local pipe).
#pragma once

#include "guest/spawn.h"
#include "protocol/channel.h"

namespace execvm::guest {

// Relays CHILD's stdio over CHANNEL and reaps every process that ends meanwhile (the agent is
// PID 1). Sends Exit when the command ends and Eof when each of its outputs does; the host answers
// Ack once it has the three. Signals from the host go to the command's process group. SIGCHLD must
// be blocked and SIGCHLD_FD a signalfd for it. Throws Error when the host is gone and
// ProtocolError on garbage from it.
void relay(FrameChannel& channel, Child& child, int sigchld_fd);

}  // namespace execvm::guest
