// Small checked wrappers over system calls used by both the host and the guest agent.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/fd.h"

namespace execvm {

// Writes all of DATA to FD (a blocking fd), retrying on EINTR. Returns false with errno set on
// failure.
bool write_all(int fd, std::string_view data);

// Reads FD until end of file. Throws Error on failure.
std::string read_all(int fd);

// Up to SIZE bytes from the start of FD (fewer when the file is shorter). Throws Error on failure.
std::string read_head(int fd, size_t size);

// Reads the whole file at PATH. Throws Error naming PATH on failure.
std::string read_file(const std::string& path);

// Writes DATA to PATH (created with MODE, truncated). Throws Error naming PATH on failure.
void write_file(const std::string& path, std::string_view data, mode_t mode = 0644);

// Sets or clears O_NONBLOCK on FD.
void set_nonblocking(int fd, bool on = true);

// An exclusive flock on the file PATH (created when missing), held until the Fd goes. Whoever
// removes a lock file does so while holding it; a file locked after that is no longer the one at
// PATH, so this takes the one at PATH then: the holder of the Fd holds the file named PATH.
Fd lock_file(const std::string& path);

// The CPUs this process may run on.
unsigned usable_cpus();

}  // namespace execvm
