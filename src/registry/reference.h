// A registry image reference ("alpine", "ghcr.io/org/app:1.2", "host:5000/x@sha256:..."), parsed
// and normalized as Docker does (the distribution/reference rules).
#pragma once

#include <string>
#include <string_view>

namespace execvm {

// Docker Hub's name in references and the host its registry API answers on.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubRegistry = "registry-1.docker.io";

struct RegistryRef {
  // The host the API is asked: "registry-1.docker.io" for Docker Hub, else the host[:port] as
  // written, the host lowercased ("localhost:5000", "ghcr.io", "[::1]:5000").
  std::string registry;
  std::string repository;  // "library/alpine", "org/app"
  std::string tag;     // "latest" when neither a tag nor a digest is written; "" for a digest alone
  std::string digest;  // "sha256:<hex>" or ""
  std::string text;    // as written

  bool docker_hub() const { return registry == kDockerHubRegistry; }
  // The domain as references spell it: "docker.io" for Docker Hub, else REGISTRY.
  std::string domain() const;
  // Docker's normalized full name: "docker.io/library/alpine:latest",
  // "ghcr.io/org/app:1.2@sha256:...", "localhost:5000/x@sha256:...".
  std::string name() const;
};

// Parses TEXT as `docker pull` does: [DOMAIN/]PATH[:TAG][@DIGEST]. The first component is a
// domain when it holds '.' or ':', is "localhost", or holds an uppercase letter (Docker's rule:
// "Foo/bar" is the host foo); otherwise the image is Docker Hub's, "library/" prefixed to a
// single-component path. "docker.io" and "index.docker.io" are Docker Hub. Path components are
// lowercase [a-z0-9]+ joined by '.', '_', "__" or dashes; a tag is
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the digest is sha256 or sha512 (parse_digest); with both a tag
// and a digest, the tag is kept and the digest is what is pulled. The path (after normalization,
// "library/x") is at most 255 characters. A bare 64-hex-digit name is refused (it reads as an image
// ID). Throws Error (exit 125) with one line saying what is wrong and what to write.
RegistryRef parse_registry_ref(std::string_view text);

}  // namespace execvm
