// Pulling an image from a registry into the image cache: the manifest (from an index, the
// platform asked for), the config and the layers, each checked against its digest before it
// enters the blob store; layers the store has already are not fetched again, and two pulls at
// once fetch each blob once (a lock per blob). The tag's manifest is recorded under
// IMAGES_DIR/tags/ so that a later run can use the image without asking the registry.
#pragma once

#include <unistd.h>

#include <optional>
#include <string>

#include "image/image.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace execvm {

// When --image asks the registry: docker's and podman's --pull.
enum class PullPolicy { kMissing, kAlways, kNever };

// "missing", "always", "never" (and podman's "newer" as "always"). Throws Error (exit 125).
PullPolicy parse_pull_policy(const std::string& text);

struct PullOptions {
  RegistryOptions registry;
  PullPolicy policy = PullPolicy::kMissing;
  std::string platform = "linux/amd64";  // OS/ARCH[/VARIANT]
  bool quiet = false;                    // no progress, no notes
  int progress_fd = STDERR_FILENO;
  // Read instead of default_registries_conf_files() when not empty (tests).
  std::vector<std::string> registries_conf_files;
  int parallel = 3;  // layers fetched at once
  // The layers fetched in the background: the Image returned has `pending`, which its
  // conversion waits on layer by layer. Otherwise they are all in the store on return.
  bool background = false;
};

struct PullStats {
  bool asked_registry = false;  // false: the image was complete in the cache
  size_t layers_fetched = 0, layers_cached = 0;
  uint64_t bytes_fetched = 0;
};

// The image REF names, as open_image() returns one (reference TEXT; source "registry"; location
// "DOMAIN/REPOSITORY"; its layers' paths in IMAGES_DIR's blob store, verified), pulled as POLICY
// says: kMissing asks the registry only when the cache lacks the tag's manifest (or a digest's),
// its config or a layer; kAlways asks for the tag's manifest each time; kNever never asks (an
// error when something is missing). Throws Error (exit 125) with one line saying what failed.
Image pull_image(const RegistryRef& ref, const std::string& text, const std::string& images_dir,
                 const PullOptions& options, PullStats* stats = nullptr);

}  // namespace execvm
