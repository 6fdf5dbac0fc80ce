// Vmm: what the relay needs of a running VM, whatever runs it: QEMU (host/vm.h) today, a fake
// guest on a socket pair in the relay's unit tests, another monitor (Firecracker, say) later.
#pragma once

namespace execvm {

class Vmm {
 public:
  virtual ~Vmm() = default;
  // execvm's end of the channel to the guest agent: a non-blocking stream socket.
  virtual int channel() const = 0;
  // The guest's console output (non-blocking), or -1 when there is none.
  virtual int console() const = 0;
  // What the monitor itself says (QEMU's stderr), non-blocking, or -1.
  virtual int diagnostics() const = 0;
  // Readable once the VM has ended.
  virtual int ended() const = 0;
  // Ends the VM now (nothing when it has ended).
  virtual void kill() = 0;
  // Waits for the VM to end; its monitor's wait status.
  virtual int wait() = 0;
};

}  // namespace execvm
