#include "util/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/fd.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm {

namespace {

// Starts ARGV with stdout on OUT_FD and stderr on ERR_FD (-1: inherited). Returns its pid.
pid_t start(const std::vector<std::string>& argv, int out_fd, int err_fd, const std::string& cwd) {
  if (argv.empty()) throw Error("no command to run");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int err = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) throw_errno("cannot run " + shell_quote(argv[0]), err);
  return pid;
}

int wait_status(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

ProcessResult run_capture(const std::vector<std::string>& argv, bool merge_stderr,
                          const std::string& cwd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  Fd r(fds[0]), w(fds[1]);
  pid_t pid = start(argv, w.get(), merge_stderr ? w.get() : -1, cwd);
  w.reset();
  ProcessResult result;
  result.output = read_all(r.get());
  result.status = wait_status(pid);
  return result;
}

int run_to_fd(const std::vector<std::string>& argv, int output_fd, const std::string& cwd) {
  return wait_status(start(argv, output_fd, output_fd, cwd));
}

}  // namespace execvm
