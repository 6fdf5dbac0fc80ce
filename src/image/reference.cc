#include "image/reference.h"

#include <sys/stat.h>

#include <optional>

#include "image/archive.h"
#include "registry/reference.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/strings.h"

namespace execvm {

namespace {

constexpr char kHint[] =
    "give a registry's image (NAME[:TAG], docker://NAME), an OCI layout directory or an archive: "
    "a path, oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME[:TAG]]";

ImageRef registry_image(const std::string& text, std::string_view name) {
  ImageRef ref;
  ref.kind = ImageRef::Kind::kRegistry;
  ref.text = text;
  ref.registry = parse_registry_ref(name);
  ref.path = ref.registry.domain() + "/" + ref.registry.repository;
  ref.tag = ref.registry.digest.empty() ? ref.registry.tag : ref.registry.digest;
  return ref;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Splits REST ("PATH[:SUFFIX]") where the path ends: the whole when it exists, else the first
// colon whose prefix exists, else the first colon.
std::pair<std::string, std::optional<std::string>> split_path(const std::string& rest,
                                                              const std::string& base) {
  if (exists(lexical_absolute(base, rest))) return {rest, std::nullopt};
  size_t first = rest.find(':');
  for (size_t colon = first; colon != std::string::npos; colon = rest.find(':', colon + 1)) {
    std::string prefix = rest.substr(0, colon);
    if (!prefix.empty() && exists(lexical_absolute(base, prefix)))
      return {prefix, rest.substr(colon + 1)};
  }
  if (first == std::string::npos) return {rest, std::nullopt};
  return {rest.substr(0, first), rest.substr(first + 1)};
}

bool valid_suffix(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c <= ' ' || c == 0x7f) return false;
  return true;
}

bool looks_like_path(std::string_view text) {
  return starts_with(text, "/") || starts_with(text, "./") || starts_with(text, "../") ||
         text == "." || text == "..";
}

}  // namespace

std::string_view kind_name(ImageRef::Kind kind) {
  switch (kind) {
    case ImageRef::Kind::kOciLayout:
      return "oci";
    case ImageRef::Kind::kOciArchive:
      return "oci-archive";
    case ImageRef::Kind::kDockerArchive:
      return "docker-archive";
    case ImageRef::Kind::kRegistry:
      return "docker";
  }
  return "";
}

ImageRef parse_image_ref(const std::string& text, const std::string& base) {
  ImageRef ref;
  ref.text = text;
  if (text.empty()) throw Error("the image reference is empty", kHint);
  for (auto kind :
       {ImageRef::Kind::kOciLayout, ImageRef::Kind::kOciArchive, ImageRef::Kind::kDockerArchive}) {
    std::string prefix = std::string(kind_name(kind)) + ":";
    if (!starts_with(text, prefix)) continue;
    std::string rest = text.substr(prefix.size());
    auto [path, suffix] = split_path(rest, base);
    if (path.empty())
      throw Error("the image reference \"" + text + "\" names no " +
                      (kind == ImageRef::Kind::kOciLayout ? "directory" : "file"),
                  kHint);
    if (suffix && !valid_suffix(*suffix))
      throw Error("the image reference \"" + text + "\" has an empty or malformed " +
                      (kind == ImageRef::Kind::kDockerArchive ? "image name" : "tag"),
                  kHint);
    if (suffix && kind == ImageRef::Kind::kDockerArchive && starts_with(*suffix, "@")) {
      std::string_view n = std::string_view(*suffix).substr(1);
      if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
        throw Error(
            "the image reference \"" + text + "\" has a malformed index \"" + *suffix + "\"",
            "docker-archive:FILE:@N names the N-th image of the archive, from 0");
    }
    ref.kind = kind;
    ref.path = lexical_absolute(base, path);
    ref.tag = suffix.value_or("");
    return ref;
  }
  if (starts_with(text, "docker://")) return registry_image(text, text.substr(9));
  for (std::string_view transport : {"docker-daemon:", "containers-storage:", "dir:", "registry:"})
    if (starts_with(text, transport))
      throw Error("the image reference \"" + text +
                      "\": " + std::string(transport.substr(0, transport.find(':'))) +
                      " images are not supported yet",
                  kHint);
  ref.path = lexical_absolute(base, text);
  struct stat st;
  if (::stat(ref.path.c_str(), &st) != 0) {
    if (looks_like_path(text)) throw_errno("cannot read the image " + ref.path);
    return registry_image(text, text);
  }
  if (S_ISDIR(st.st_mode)) {
    ref.kind = ImageRef::Kind::kOciLayout;
    return ref;
  }
  if (!S_ISREG(st.st_mode))
    throw Error("the image " + ref.path + " is neither a directory nor a regular file", kHint);
  switch (archive_kind(ref.path)) {
    case ArchiveKind::kDocker:
      ref.kind = ImageRef::Kind::kDockerArchive;
      return ref;
    case ArchiveKind::kOci:
      ref.kind = ImageRef::Kind::kOciArchive;
      return ref;
    case ArchiveKind::kNeither:
      break;
  }
  throw Error("the image " + ref.path +
                  " is a tar archive with neither a manifest.json nor an oci-layout at its top",
              kHint);
}

std::string normalize_docker_name(std::string_view name) {
  try {
    return parse_registry_ref(name).name();
  } catch (const Error&) {
    return std::string(name);  // not a valid name: matches only itself
  }
}

}  // namespace execvm
