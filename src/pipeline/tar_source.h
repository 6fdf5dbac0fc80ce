// The Tar source: an archive of local files written in this process with libarchive (pax
// restricted, as bsdtar writes it), compressed with gzip, zstd or xz, or not at all.
#pragma once

#include <string>

#include "execvm/pipeline.h"

namespace execvm::pipeline {

struct TarOutcome {
  int status = 0;     // as tar's: 0, 2 when a file could not be read, 141 when the reader left
  std::string error;  // what went wrong, if anything
};

// Writes TAR's archive to OUT (blocking) until it is complete or STOP_FD (an eventfd, -1 for
// none) becomes readable. Directories are walked; names are as given, without a leading "/".
TarOutcome write_tar(const Tar& tar, int out, int stop_fd = -1);

}  // namespace execvm::pipeline
