// The guest's network when the run has one: its interface configured as the host's user-mode
// network expects (address, route, resolver), with the kernel's ioctls and no outside tool.
// Without one, the guest has no network device at all and only lo is up (see system.h).
#pragma once

#include <string>

#include "spec/run_spec.h"

namespace execvm::guest {

// The network interface of the guest's network device: the first one under SYS_CLASS_NET other
// than lo, "" when there is none.
std::string find_network_interface(const std::string& sys_class_net = "/sys/class/net");

// Gives interface NAME NETWORK's address and prefix, brings it up and routes everything else
// through NETWORK's gateway. Throws Error naming the step that failed.
void configure_interface(const std::string& name, const NetworkSpec& network);

// configure_interface for the guest's network device. Throws Error when there is none.
void configure_network(const NetworkSpec& network);

// Whether DIR is on a filesystem of the guest's own, in its RAM: the initramfs, a tmpfs, or the
// overlay whose upper layer is one. Writing there reaches neither the host nor a disk.
bool is_guest_own(const std::string& dir);

// Makes ETC_DIR/resolv.conf a file of its own naming NETWORK's resolver (a symlink or file there
// is replaced, never followed). Throws Error when it cannot.
void write_resolv_conf(const NetworkSpec& network, const std::string& etc_dir);

// What the agent does for a run with NETWORK once it is in the guest's root: configure_network,
// then /etc/resolv.conf where /etc is the guest's own (an image's, the host's under the overlay,
// the initramfs's). Nothing when NETWORK has no address. Throws Error.
void set_up_network(const NetworkSpec& network);

}  // namespace execvm::guest
