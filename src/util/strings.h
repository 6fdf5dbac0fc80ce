// Parsing and formatting of the small values execvm's options and messages carry.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execvm {

// "90", "90s", "1.5s", "500ms", "2m", "1h" -> a duration; nullopt when malformed or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "512M", "512MiB", "2G", "2GiB" -> mebibytes (a bare number is MiB, like QEMU's -m);
// nullopt when malformed, zero or not a whole number of MiB.
std::optional<uint64_t> parse_mebibytes(std::string_view text);

// A duration as people read it: "750ms", "5s", "2.5s", "3m".
std::string format_duration(std::chrono::milliseconds d);

// A size in MiB as people read it: "1.5 MiB" below 10 MiB, then whole: "17 MiB".
std::string format_mib(uint64_t bytes);

// T as ISO 8601 in UTC: "2025-11-23T20:33:05Z".
std::string iso_time(time_t t);

std::vector<std::string> split(std::string_view text, char sep);
std::string_view trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);

// Quotes WORD for a POSIX shell when it needs it (for messages and --dry-run output).
std::string shell_quote(std::string_view word);

// True when TEXT is well-formed UTF-8.
bool is_utf8(std::string_view text);

// Lowercase hexadecimal of DATA.
std::string hex(std::string_view data);

}  // namespace execvm

namespace execvm {

// TEXT with ASCII letters made lowercase.
std::string to_lower(std::string_view text);

std::string base64_encode(std::string_view data);
// nullopt when TEXT is not canonical base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace execvm
