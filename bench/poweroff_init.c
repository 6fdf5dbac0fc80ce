/* The baseline's whole userland: PID 1 that ends the VM at once (with reboot=t and QEMU's
 * -no-reboot, a reboot ends QEMU), so that a boot of it times the kernel and QEMU alone. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}
