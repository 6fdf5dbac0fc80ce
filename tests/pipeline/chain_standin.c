/* A stand-in for `execvm chain` in libexecvm's tests, static so that it runs in any container:
 * PROGRAM chain DELIM CMD... DELIM REST... runs CMD, then execs REST unless CMD failed (its status,
 * 128+N for signal N). Without a second DELIM, CMD is exec'd. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int i = 1;
  if (i < argc && strcmp(argv[i], "chain") == 0) i++;
  if (i >= argc) return 2;
  const char* delim = argv[i++];
  int start = i;
  while (i < argc && strcmp(argv[i], delim) != 0) i++;
  if (i == start) return 2;
  if (i == argc) {
    execvp(argv[start], argv + start);
    perror(argv[start]);
    return 127;
  }
  argv[i] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[start], argv + start);
    perror(argv[start]);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return 125;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  if (WEXITSTATUS(status)) return WEXITSTATUS(status);
  if (i + 1 >= argc) return 2;
  execvp(argv[i + 1], argv + i + 1);
  perror(argv[i + 1]);
  return 127;
}
