// execvm's guest agent: PID 1 of every execvm VM, and the tools `chain` and `init` (see
// tools/tools.h) by its first argument. As PID 1 it mounts the guest's own filesystems, says
// hello to the host, takes the RunSpec, runs the command with its stdio relayed as frames, reaps
// orphans, reports the exit status and the end of the output, waits for the host's
// acknowledgement and ends the VM. It must never exit: PID 1 exiting is a kernel panic.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "guest/channel.h"
#include "guest/network.h"
#include "guest/outputs.h"
#include "guest/relay.h"
#include "guest/root.h"
#include "guest/spawn.h"
#include "guest/system.h"
#include "guest/user.h"
#include "protocol/frame.h"
#include "spec/run_spec.h"
#include "tools/chain.h"
#include "tools/init.h"
#include "tools/tools.h"
#include "util/error.h"

namespace execvm::guest {
namespace {

using protocol::FrameType;

// How long the port may take to appear after the kernel starts PID 1.
constexpr int kPortTimeoutMs = 10'000;

Fd block_sigchld() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) throw_errno("sigprocmask");
  Fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) throw_errno("signalfd");
  return fd;
}

void set_hostname(const std::string& name) {
  if (!name.empty() && ::sethostname(name.data(), name.size()) < 0) throw_errno("sethostname");
}

[[noreturn]] void run() {
  std::optional<Port> port;
  try {
    // The agent writes to pipes whose readers may be gone; that is an error to handle, not death.
    ::signal(SIGPIPE, SIG_IGN);
    Fd sigchld = block_sigchld();
    mount_sys_and_dev();
    port.emplace(open_port(protocol::kPortName, kPortTimeoutMs));
    port->channel().queue(
        FrameType::kHello,
        protocol::encode_hello({protocol::kVersion, "execvm-agent " EXECVM_VERSION}));
    port->flush_all();
    // What does not depend on the spec is done while it is on its way.
    mount_runtime();
    make_disk_links();
    bring_up_loopback();

    int64_t realtime_ns = 0;
    RunSpec spec = port->receive_spec(realtime_ns);
    enter_root(spec);
    set_up_network(spec.network);
    set_realtime(realtime_ns);
    set_hostname(spec.hostname);
    try {
      take_user(spec);
      Child child = spawn_command(spec);
      port->channel().queue(FrameType::kStarted, {});
      relay(port->channel(), child, sigchld.get());
      // The files out, once the command and its output have ended (also when it failed).
      send_outputs(*port, spec);
    } catch (const SpawnError& e) {
      port->channel().queue(FrameType::kError, protocol::encode_error({e.exit_code(), e.what()}));
    } catch (const Error& e) {  // the user is not in the root's passwd file
      port->channel().queue(FrameType::kError,
                            protocol::encode_error({e.exit_code(), e.message()}));
    }
    port->finish();
  } catch (const std::exception& e) {
    log_line(e.what());
    if (port) {
      try {
        port->channel().queue(
            FrameType::kError,
            protocol::encode_error({kExitFailure, std::string("guest agent: ") + e.what()}));
        port->finish();
      } catch (const std::exception&) {
      }
    }
  }
  power_off();
}

}  // namespace
}  // namespace execvm::guest

int main(int argc, char** argv) {
  using namespace execvm::tools;
  // A multi-call binary: `chain` and `init` by the first argument (or `chain` by its name).
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t skip = 0;
  std::string tool = tool_for(argc > 0 ? argv[0] : "", args, &skip);
  args.erase(args.begin(), args.begin() + static_cast<long>(skip));
  if (tool == "chain") return chain_main(args);
  if (tool == "init" || (::getpid() == 1 && args.empty() && kernel_asks_for_init()))
    return init_main(args);
  if (::getpid() != 1) {
    fprintf(stderr,
            "execvm-agent is PID 1 of an execvm virtual machine and is not run by hand.\n"
            "To run a command in a VM: execvm [OPTIONS] [--] COMMAND [ARG...]\n"
            "Its tools: %s chain ... and %s init ... (see execvm chain --help)\n",
            kToolsPath, kToolsPath);
    return 2;
  }
  execvm::guest::run();
}
