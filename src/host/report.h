// What a run's end means for the user: the status execvm exits with, and what it says on stderr.
// The one place that decides: one line saying what failed and what to do, then the guest
// console's last lines only where they tell more (a panic, a boot that never finished), and the
// whole console log with EXECVM_DEBUG=1.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "host/accel.h"
#include "host/outputs.h"
#include "host/relay.h"

namespace execvm {

// What the report needs to know of the run besides how it ended.
struct ReportContext {
  std::chrono::milliseconds boot_timeout{0};
  std::chrono::milliseconds unresponsive{0};  // RelayOptions::unresponsive
  std::optional<std::chrono::milliseconds> timeout;
  Accel accel = Accel::kTcg;
  unsigned cpus = 1;
  unsigned host_cpus = 1;
  uint64_t memory_mib = 0;
  std::string file_server;     // what the root's file server said (virtiofsd), if anything
  bool console_shown = false;  // --console: the log is on stderr already
  bool whole_console = false;  // EXECVM_DEBUG=1: print all of it on a failure
  OutputsSummary outputs;      // what became of the --output files
};

struct Report {
  int exit_code = 125;
  std::string text;  // for stderr: lines starting "execvm: ", or empty
};

// A --output that was not written is one line each (after the run's own), and makes execvm fail
// (125) where the command itself succeeded; where it failed, its status stays. Not a word of
// them when the command never started (its failure to start says it all).
Report report_run(const RelayResult& result, const ReportContext& context);

}  // namespace execvm
