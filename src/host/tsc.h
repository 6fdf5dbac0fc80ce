// The host's TSC frequency, which a TCG guest's TSC runs at. Passing it as tsc_early_khz= spares
// the guest its own calibration, which under TCG is slow and can hang the boot (measured).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace execvm {

// The TSC frequency in kHz: measured against CLOCK_MONOTONIC_RAW once per host boot and kept in
// CACHE_ROOT/host/tsc (a few milliseconds the first time). 0 when it cannot be measured.
uint32_t host_tsc_khz(const std::string& cache_root);

// Measures it now (about 10 ms).
uint32_t measure_tsc_khz();

// The cached value in TEXT ("BOOT_ID KHZ") when it was written during boot BOOT_ID.
std::optional<uint32_t> parse_tsc_cache(const std::string& text, const std::string& boot_id);

}  // namespace execvm
