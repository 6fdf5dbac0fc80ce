/* streamtool: the command the end-to-end tests run inside VMs (and locally, to compare).
 *
 *   streamtool gen N [SEED [FD]]  write N deterministic pseudo-random bytes (all 256 values)
 *                             to FD (default 1)
 *   streamtool sink           read stdin to its end; print "BYTES HASH" (FNV-1a 64)
 *   streamtool args ARG...    print each argument as "[LEN:BYTES]\n", bytes as they are
 *   streamtool both           write "out N" to stdout and "err N" to stderr, interleaved
 *   streamtool exit N         exit with status N
 *   streamtool raise SIG      kill itself with signal SIG
 *   streamtool wait           print "ready", then wait for SIGINT/SIGTERM/SIGHUP and exit
 *                             100 + the signal after printing "got N"
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const unsigned char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int gen(unsigned long long n, uint64_t seed, int fd) {
  unsigned char buf[65536];
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  while (n) {
    size_t len = n < sizeof buf ? (size_t)n : sizeof buf;
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (unsigned char)(x >> 24);
    }
    if (write_all(fd, buf, len)) return 1;
    n -= len;
  }
  return 0;
}

static int sink(void) {
  unsigned char buf[65536];
  uint64_t h = 0xcbf29ce484222325ull, total = 0;
  for (;;) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0) return 1;
    if (r == 0) break;
    for (ssize_t i = 0; i < r; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
    total += (uint64_t)r;
  }
  printf("%llu %016llx\n", (unsigned long long)total, (unsigned long long)h);
  return 0;
}

static volatile sig_atomic_t got;
static void on_signal(int sig) { got = sig; }

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: streamtool gen|sink|args|both|exit|raise|wait|eat ...\n");
    return 2;
  }
  const char* cmd = argv[1];
  if (!strcmp(cmd, "gen") && argc >= 3) return gen(strtoull(argv[2], 0, 10), argc > 3 ? strtoull(argv[3], 0, 10) : 1, argc > 4 ? atoi(argv[4]) : 1);
  if (!strcmp(cmd, "sink")) return sink();
  if (!strcmp(cmd, "args")) {
    for (int i = 2; i < argc; i++) {
      printf("[%zu:", strlen(argv[i]));
      fwrite(argv[i], 1, strlen(argv[i]), stdout);
      printf("]\n");
    }
    return 0;
  }
  if (!strcmp(cmd, "both")) {
    for (int i = 0; i < 100; i++) {
      char line[32];
      int n = snprintf(line, sizeof line, "out %d\n", i);
      write_all(1, (unsigned char*)line, (size_t)n);
      n = snprintf(line, sizeof line, "err %d\n", i);
      write_all(2, (unsigned char*)line, (size_t)n);
    }
    return 0;
  }
  if (!strcmp(cmd, "exit") && argc >= 3) return atoi(argv[2]);
  if (!strcmp(cmd, "raise") && argc >= 3) {
    int sig = atoi(argv[2]);
    signal(sig, SIG_DFL);
    raise(sig);
    return 99;
  }
  if (!strcmp(cmd, "wait")) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    /* Blocked until sigsuspend: one that came between a test of GOT and pause() would be lost,
       and the wait with it. */
    sigset_t blocked, previous;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    sigprocmask(SIG_BLOCK, &blocked, &previous);
    printf("ready\n");
    fflush(stdout);
    while (!got) sigsuspend(&previous);
    printf("got %d\n", (int)got);
    return 100 + got;
  }
  if (!strcmp(cmd, "eat") && argc >= 3) {
    /* Takes MIB mebibytes, touching every page: more than the machine has ends in its OOM killer. */
    size_t mib = strtoull(argv[2], 0, 10);
    for (size_t i = 0; i < mib; i++) {
      char* block = malloc(1 << 20);
      if (!block) return 3;
      memset(block, 1, 1 << 20);
    }
    return 0;
  }
  fprintf(stderr, "streamtool: bad arguments\n");
  return 2;
}
