// Running a pipeline: every stage started at once, connected by pipes, and waited for.
//
// The stages that run programs (local, vm and container commands, Build) are processes of one
// process group of their own (a shell's job), which holds the terminal's foreground while it
// runs when the caller held it; void stages are no stage at all (their neighbours are connected
// directly). What this process itself moves (a Tar's or RunOptions::input's bytes, captured
// output, a source copied straight to the sink) is moved by threads, each with every signal
// blocked, so that a reader that went away is EPIPE there, not a SIGPIPE here. A signal to the
// caller (SIGINT, SIGTERM, SIGHUP) is passed to the group; what is still running after the grace
// time is killed, and containers that were killed are removed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "execvm/pipeline.h"
#include "pipeline/argv.h"
#include "pipeline/shell.h"
#include "pipeline/tar_source.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/interrupt.h"
#include "util/paths.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/sys.h"

extern char** environ;

namespace execvm::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  Fd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw PipelineError(std::string("pipe: ") + strerror(errno));
  return {Fd(fds[0]), Fd(fds[1])};
}

Fd make_eventfd() {
  Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw PipelineError(std::string("eventfd: ") + strerror(errno));
  return fd;
}

void signal_eventfd(int fd) {
  uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);
}

// Whether FD is readable now, or becomes so within TIMEOUT_MS (-1: forever).
bool readable(int fd, int timeout_ms = 0) {
  struct pollfd p {
    fd, POLLIN, 0
  };
  return ::poll(&p, 1, timeout_ms) > 0;
}

// A thread of the run: every signal blocked in it, DONE signalled when it ends.
class Worker {
 public:
  Worker(int done_fd, std::function<void()> body) {
    thread_ = std::thread([this, done_fd, body = std::move(body)] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      body();
      finished_ = true;
      signal_eventfd(done_fd);
    });
  }
  ~Worker() {
    if (thread_.joinable()) thread_.join();
  }
  bool finished() const { return finished_; }

 private:
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// Reads IN until its end (or STOP), handing each piece to PUT until it returns false.
void drain(int in, int stop, const std::function<bool(std::string_view)>& put) {
  std::vector<char> buffer(1 << 18);
  for (;;) {
    struct pollfd p[2] = {{in, POLLIN, 0}, {stop, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0 || !put(std::string_view(buffer.data(), static_cast<size_t>(n)))) return;
  }
}

// Reads IN until its end (or STOP) into OUT.
void capture(int in, std::string& out, int stop) {
  drain(in, stop, [&out](std::string_view piece) {
    out.append(piece);
    return true;
  });
}

// Copies IN to OUT until IN ends, OUT's reader goes away, or STOP.
void copy(int in, int out, int stop) {
  drain(in, stop, [out](std::string_view piece) { return write_all(out, piece); });
}

std::string random_suffix() {
  std::random_device device;
  char out[9];
  snprintf(out, sizeof out, "%08x", device());
  return out;
}

// One stage as it will run.
struct Planned {
  size_t result;                                // its index in Result::stages
  std::vector<std::string> argv;                // empty: a void stage
  std::optional<std::vector<std::string>> env;  // a local stage's whole environment
  std::string cwd;
  std::string container_engine, container_name;  // a container stage's, to remove it if killed
  bool debug = false;                            // a void stage that prints its command
  std::vector<std::string> shown;                // what a void stage would run
};

// The caller's environment with SET laid over it.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& set) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (!set.count(name)) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : set) env.push_back(name + "=" + value);
  return env;
}

// The terminal among FDS that this process's group has in the foreground, or -1.
int foreground_terminal(std::initializer_list<int> fds) {
  for (int fd : fds)
    if (fd >= 0 && ::isatty(fd) && ::tcgetpgrp(fd) == ::getpgrp()) return fd;
  return -1;
}

// tcsetpgrp without being stopped by SIGTTOU for it (it is sent to a background caller).
void give_terminal(int fd, pid_t group) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  (void)::tcsetpgrp(fd, group);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

class Run {
 public:
  Run(const Pipeline& pipeline, const RunOptions& options)
      : pipeline_(pipeline), options_(options) {}

  Result run();

 private:
  void plan();
  void spawn(Planned& stage, int in, int out, int err);
  void wait_all(std::optional<InterruptGuard>& guard);
  void stop(int sig);
  bool all_done();

  const Pipeline& pipeline_;
  const RunOptions& options_;
  Result result_;
  std::vector<Planned> planned_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::pair<size_t, Process>> processes_;  // result index, process
  pid_t group_ = 0;
  Fd stop_ = make_eventfd(), done_ = make_eventfd();
  bool stopping_ = false, killed_ = false;
  Clock::time_point deadline_;
  std::vector<std::string> stage_stderr_;  // with capture_stderr, by result index
};

void Run::plan() {
  Runner default_runner = options_.runner.value_or(Runner());
  if (pipeline_.source)
    if (const Tar* t = std::get_if<Tar>(&*pipeline_.source))
      result_.stages.push_back({tar_line(*t), "tar"});
  static std::atomic<unsigned> containers{0};
  for (const Stage& s : pipeline_.stages) {
    Planned p{result_.stages.size()};
    StageResult r;
    if (const Build* b = std::get_if<Build>(&s)) {
      p.argv = build_argv(*b);
      r = {words(p.argv), "build"};
    } else {
      const Command& c = std::get<Command>(s);
      const Runner& runner = c.runner ? *c.runner : default_runner;
      r.runner = runner.kind();
      r.command = words(command_argv(c, chain_program(runner, options_.execvm)));
      if (const auto* v = std::get_if<VoidOptions>(&runner.options())) {
        p.debug = v->debug;
        p.shown = command_argv(c, chain_program(runner, options_.execvm));
      } else {
        if (const auto* o = std::get_if<ContainerOptions>(&runner.options())) {
          p.container_engine = o->engine;
          p.container_name = "execvm-" + std::to_string(::getpid()) + "-" +
                             std::to_string(containers++) + "-" + random_suffix();
        }
        p.argv = stage_argv(runner, c, options_.execvm, p.container_name);
        if (std::holds_alternative<LocalOptions>(runner.options())) {
          if (!c.env.empty()) p.env = environment_with(c.env);
          p.cwd = c.cwd;
        }
      }
    }
    result_.stages.push_back(std::move(r));
    planned_.push_back(std::move(p));
  }
  stage_stderr_.resize(result_.stages.size());
}

void Run::spawn(Planned& stage, int in, int out, int err) {
  ProcessSpec spec;
  spec.argv = stage.argv;
  spec.env = stage.env;
  spec.cwd = stage.cwd;
  spec.stdin_fd = in;
  spec.stdout_fd = out;
  spec.stderr_fd = err;
  spec.own_group = group_ == 0;
  if (group_) {
    pid_t group = group_;
    spec.before_exec = [group]() -> const char* {
      ::setpgid(0, group);  // else it stays in the caller's group, and is killed by its pid
      return nullptr;
    };
  }
  StageResult& r = result_.stages[stage.result];
  try {
    Process p(spec);
    if (!group_) group_ = p.pid();
    if (options_.on_start) options_.on_start(stage.result, p.pid());
    processes_.emplace_back(stage.result, std::move(p));
  } catch (const Error& e) {
    // As a shell: the stage fails with 127 (not found) or 126, the others run.
    r.status = find_program(stage.argv[0]) ? 126 : 127;
    r.error = e.message();
    std::string line = "execvm: " + e.message() + "\n";
    if (options_.capture_stderr)
      stage_stderr_[stage.result] += line;
    else
      write_all(err, line);
  }
}

bool Run::all_done() {
  for (auto& [index, p] : processes_)
    if (!p.poll()) return false;
  for (const auto& w : workers_)
    if (!w->finished()) return false;
  return true;
}

void Run::stop(int sig) {
  if (!stopping_) {
    stopping_ = true;
    deadline_ = Clock::now() + options_.grace;
    signal_eventfd(stop_.get());
  }
  bool live = false;
  for (auto& [index, p] : processes_) {
    if (p.poll()) continue;
    live = true;
    ::kill(p.pid(), sig);  // one that did not join the group
  }
  if (live && group_) ::kill(-group_, sig);
}

void Run::wait_all(std::optional<InterruptGuard>& guard) {
  while (!all_done()) {
    std::vector<struct pollfd> fds;
    for (auto& [index, p] : processes_)
      if (!p.poll()) fds.push_back({p.exit_fd(), POLLIN, 0});
    fds.push_back({done_.get(), POLLIN, 0});
    if (guard && !stopping_) fds.push_back({guard->fd(), POLLIN, 0});
    // Each process's pidfd and the workers' eventfd wake this; the timeout is a second look
    // now and then all the same (at the grace deadline sooner), which costs nothing, so that no
    // missed wake-up can ever make a finished pipeline wait forever.
    int timeout = 1000;
    if (stopping_ && !killed_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      timeout = static_cast<int>(std::clamp<long>(left.count(), 0, timeout));
    }
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) throw PipelineError(std::string("poll: ") + strerror(errno));
    uint64_t count;
    (void)!::read(done_.get(), &count, sizeof count);
    if (guard && !stopping_ && readable(guard->fd())) {
      result_.interrupted = guard->signal();
      stop(result_.interrupted ? result_.interrupted : SIGTERM);
    }
    if (stopping_ && !killed_ && Clock::now() >= deadline_) {
      killed_ = true;
      stop(SIGKILL);
    }
  }
}

Result Run::run() {
  if (!pipeline_.source && pipeline_.stages.empty())
    throw PipelineError("an empty pipeline: nothing to run");
  plan();
  // Where the data comes from and goes to: the caller's descriptors, files, or pipes to and
  // from this process's threads.
  Fd source_file, sink_file;
  Pipe source_pipe, sink_pipe;
  int in = options_.stdin_fd, out = options_.stdout_fd;
  std::function<void(int fd, int stop)> produce;  // writes the source into fd
  if (pipeline_.source) {
    if (const File* f = std::get_if<File>(&*pipeline_.source)) {
      source_file.reset(::open(f->name.c_str(), O_RDONLY | O_CLOEXEC));
      if (!source_file) throw PipelineError(f->name + ": " + strerror(errno));
      in = source_file.get();
    } else {
      const Tar tar = std::get<Tar>(*pipeline_.source);
      produce = [this, tar](int fd, int stop) {
        TarOutcome outcome = write_tar(tar, fd, stop);
        StageResult& r = result_.stages[0];
        r.status = outcome.status;
        if (outcome.status != 0 && outcome.status != 141 && outcome.status != 130) {
          r.error = outcome.error;
          std::string line = "execvm: tar: " + outcome.error + "\n";
          if (options_.capture_stderr)
            stage_stderr_[0] += line;
          else
            write_all(options_.stderr_fd, line);
        }
      };
    }
  } else if (options_.input) {
    produce = [input = *options_.input](int fd, int) { write_all(fd, input); };
  }
  if (pipeline_.sink) {
    sink_file.reset(
        ::open(pipeline_.sink->name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!sink_file) throw PipelineError(pipeline_.sink->name + ": " + strerror(errno));
    out = sink_file.get();
  } else if (options_.capture_output) {
    sink_pipe = make_pipe();
    out = sink_pipe.write.get();
  }
  if (produce) {
    source_pipe = make_pipe();
    in = source_pipe.read.get();
  }

  std::optional<InterruptGuard> guard;
  if (options_.handle_signals) guard.emplace("the pipeline");
  int terminal = foreground_terminal({options_.stdin_fd, options_.stdout_fd, options_.stderr_fd});
  bool gave_terminal = false;

  // Each stage's stderr: the caller's, or a pipe to a thread.
  std::vector<Pipe> err_pipes(result_.stages.size());
  auto stderr_of = [&](size_t index) {
    if (!options_.capture_stderr) return options_.stderr_fd;
    err_pipes[index] = make_pipe();
    return err_pipes[index].write.get();
  };

  // The program stages, connected: void ones are left out, and print what they would run.
  std::vector<Planned*> programs;
  for (Planned& p : planned_) {
    if (!p.argv.empty()) {
      programs.push_back(&p);
    } else if (p.debug) {
      std::string line = "+ " + words(p.shown) + "\n";
      if (options_.capture_stderr)
        stage_stderr_[p.result] += line;
      else
        write_all(options_.stderr_fd, line);
    }
  }
  Fd previous;  // the read end of the pipe into the next stage
  for (size_t i = 0; i < programs.size(); ++i) {
    Pipe next;
    int stage_out = out;
    if (i + 1 < programs.size()) {
      next = make_pipe();
      stage_out = next.write.get();
    }
    spawn(*programs[i], i == 0 ? in : previous.get(), stage_out, stderr_of(programs[i]->result));
    if (group_ && terminal >= 0 && !gave_terminal) {
      give_terminal(terminal, group_);
      gave_terminal = true;
    }
    err_pipes[programs[i]->result].write.reset();
    previous = std::move(next.read);
  }

  // What this process moves itself, each thread owning the pipe ends it uses; the stages have
  // theirs, and these copies would keep the pipes open.
  int stop_fd = stop_.get(), done = done_.get();
  bool copying = programs.empty() && in >= 0;  // the source straight to the sink
  if (!copying) {
    source_pipe.read.reset();
    sink_pipe.write.reset();
  }
  auto owned = [](Fd& fd) { return std::make_shared<Fd>(std::move(fd)); };
  try {
    for (size_t i = 0; i < err_pipes.size(); ++i)
      if (err_pipes[i].read)
        workers_.push_back(
            std::make_unique<Worker>(done, [this, i, fd = owned(err_pipes[i].read), stop_fd] {
              capture(fd->get(), stage_stderr_[i], stop_fd);
            }));
    if (produce)
      workers_.push_back(std::make_unique<Worker>(
          done,
          [produce, fd = owned(source_pipe.write), stop_fd] { produce(fd->get(), stop_fd); }));
    if (copying)
      workers_.push_back(std::make_unique<Worker>(
          done, [in, out, stop_fd, in_pipe = owned(source_pipe.read),
                 out_pipe = owned(sink_pipe.write)] { copy(in, out, stop_fd); }));
    if (sink_pipe.read)
      workers_.push_back(
          std::make_unique<Worker>(done, [this, fd = owned(sink_pipe.read), stop_fd] {
            capture(fd->get(), result_.output, stop_fd);
          }));
    wait_all(guard);
  } catch (...) {
    stop(SIGKILL);
    workers_.clear();
    if (gave_terminal) give_terminal(terminal, ::getpgrp());
    throw;
  }
  if (gave_terminal) give_terminal(terminal, ::getpgrp());

  for (auto& [index, p] : processes_) result_.stages[index].status = shell_status(p.wait());
  // A container whose engine was killed may still run: remove it.
  for (const Planned& p : planned_) {
    if (p.container_name.empty() || (result_.stages[p.result].status <= 128 && !killed_)) continue;
    try {
      ProcessSpec spec;
      spec.argv = {p.container_engine, "rm", "-f", p.container_name};
      if (p.container_engine == "podman")  // no stop timeout: it was killed already
        spec.argv.insert(spec.argv.begin() + 3, {"--ignore", "--time", "0"});
      Process rm(spec);
      rm.wait();
    } catch (const Error&) {
    }
  }
  workers_.clear();
  for (size_t i = 0; i < result_.stages.size(); ++i)
    result_.stages[i].stderr_output = std::move(stage_stderr_[i]);
  for (const StageResult& s : result_.stages)
    if (s.status != 0) result_.status = s.status;
  if (result_.interrupted && result_.status == 0) result_.status = 128 + result_.interrupted;
  return std::move(result_);
}

}  // namespace

Result Pipeline::run() const {
  return run(RunOptions());
}

Result Pipeline::run(const RunOptions& options) const {
  try {
    return Run(*this, options).run();
  } catch (const Error& e) {
    throw PipelineError(e.message());
  }
}

}  // namespace execvm::pipeline
