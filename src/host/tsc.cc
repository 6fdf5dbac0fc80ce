#include "host/tsc.h"

#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "util/paths.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string boot_id() {
  try {
    return std::string(trim(read_file("/proc/sys/kernel/random/boot_id")));
  } catch (...) {
    return "";
  }
}

}  // namespace

uint32_t measure_tsc_khz() {
  std::vector<double> samples;
  for (int i = 0; i < 3; ++i) {
    int64_t t0 = now_ns();
    uint64_t c0 = __rdtsc();
    struct timespec wait {
      0, 3'000'000
    };
    nanosleep(&wait, nullptr);
    int64_t t1 = now_ns();
    uint64_t c1 = __rdtsc();
    if (t1 > t0) samples.push_back(double(c1 - c0) * 1e6 / double(t1 - t0));
  }
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  double khz = samples[samples.size() / 2];
  return khz > 0 && khz < 1e8 ? static_cast<uint32_t>(khz + 0.5) : 0;
}

std::optional<uint32_t> parse_tsc_cache(const std::string& text, const std::string& boot_id) {
  std::istringstream in(text);
  std::string id;
  uint64_t khz = 0;
  if (!(in >> id >> khz) || id != boot_id || boot_id.empty() || khz == 0 || khz >= 1e8)
    return std::nullopt;
  return static_cast<uint32_t>(khz);
}

uint32_t host_tsc_khz(const std::string& cache_root) {
  std::string id = boot_id();
  std::string dir = cache_root + "/host";
  std::string path = dir + "/tsc";
  try {
    if (auto khz = parse_tsc_cache(read_file(path), id)) return *khz;
  } catch (...) {
  }
  uint32_t khz = measure_tsc_khz();
  if (khz && !id.empty()) {
    try {
      make_dirs(dir);
      std::string tmp = path + "." + std::to_string(getpid());
      write_file(tmp, id + " " + std::to_string(khz) + "\n");
      if (::rename(tmp.c_str(), path.c_str()) < 0) ::unlink(tmp.c_str());
    } catch (...) {
      // A cache we cannot write costs a measurement per run, nothing else.
    }
  }
  return khz;
}

}  // namespace execvm
