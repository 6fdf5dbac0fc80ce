// What `--image REF` names: an OCI layout directory, an oci-archive or a docker-archive, and which
// image in it.
#pragma once

#include <string>
#include <string_view>

#include "registry/reference.h"

namespace execvm {

struct ImageRef {
  enum class Kind { kOciLayout, kOciArchive, kDockerArchive, kRegistry };
  Kind kind = Kind::kOciLayout;
  // Absolute; for a registry's image, its name without tag or digest ("docker.io/library/alpine").
  std::string path;
  // "" when none given. For a layout or an oci-archive: the tag (a ref.name). For a
  // docker-archive: "NAME[:TAG]" as written ("busybox", "docker.io/foo/bar:1"), or "@N", the
  // N-th image of its manifest.json (from 0). For a registry's image: its tag, else its digest.
  std::string tag;
  std::string text;      // as written
  RegistryRef registry;  // kRegistry's reference
};

// "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME[:TAG]]",
// "docker-archive:FILE:@N", "docker://NAME" (a registry's image, as `docker pull` names it), or a
// plain path: a directory is an OCI layout; a regular file an
// archive told apart by its content (a manifest.json at its top: a docker-archive, which current
// Docker writes with an OCI layout beside it; else an oci-layout file: an oci-archive). A path
// that holds a colon is found by trying the colons from the left: the first prefix that exists
// is the path. Relative paths are taken against BASE (absolute). What is neither a prefixed
// reference nor an existing path, and does not start like a path ("/", "./", "../"), is a
// registry's image name ("alpine", "ghcr.io/org/app:1.2"). Throws Error (exit 125) for anything
// else, saying what to write.
ImageRef parse_image_ref(const std::string& text, const std::string& base);

// The kind's prefix: "oci", "oci-archive", "docker-archive", "docker".
std::string_view kind_name(ImageRef::Kind kind);

// A Docker image name in full, as Docker normalizes it: "busybox" ->
// "docker.io/library/busybox:latest", "foo/bar:1" -> "docker.io/foo/bar:1", "localhost:5000/x" ->
// "localhost:5000/x:latest". A digest ("@sha256:...") stays and adds no tag. (The rules are
// registry/reference.h's; a name they refuse is returned as it is, matching only itself.)
std::string normalize_docker_name(std::string_view name);

}  // namespace execvm
