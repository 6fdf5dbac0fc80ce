#include "image/source.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "image/archive.h"
#include "image/blob_store.h"
#include "image/oci.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"

namespace execvm {

namespace {

std::string blob_path(const std::string& layout, const Digest& digest) {
  return join_path(join_path(join_path(layout, "blobs"), digest.algorithm), digest.hex);
}

// The file PATH (WHAT), at most LIMIT bytes.
std::string read_limited(const std::string& path, uint64_t limit, const std::string& what) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT) throw Error(what + " is missing from the layout");
  if (!fd) throw_errno("cannot open " + what + " (" + path + ")");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read " + what + " (" + path + ")");
  if (!S_ISREG(st.st_mode)) throw Error(what + " (" + path + ") is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > limit)
    throw Error(what + " is larger than " + std::to_string(limit) + " bytes");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + what + " (" + path + ")");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit)
      throw Error(what + " is larger than " + std::to_string(limit) + " bytes");
  }
}

Image open_layout(const ImageRef& ref) {
  if (!is_directory(ref.path)) {
    if (is_regular_file(ref.path))
      throw Error(
          ref.path + " is a file, not an OCI layout directory",
          "for an archive, write oci-archive:" + ref.path + " or docker-archive:" + ref.path);
    throw_errno("cannot read the OCI layout " + ref.path, errno == 0 ? ENOENT : errno);
  }
  std::string marker = join_path(ref.path, "oci-layout");
  if (!is_regular_file(marker)) {
    if (is_regular_file(join_path(ref.path, "manifest.json")))
      throw Error(ref.path + " has no oci-layout file: it looks like an unpacked docker-archive",
                  "pack it as one (tar -C DIR -cf IMAGE.tar .) and give docker-archive:IMAGE.tar");
    throw Error(ref.path + " has no oci-layout file: it is not an OCI image layout");
  }
  check_oci_layout(read_limited(marker, 1 << 16, "oci-layout"), "oci-layout");
  std::string index_json =
      read_limited(join_path(ref.path, "index.json"), kMaxJsonSize, "index.json");
  JsonBlobReader read = [&](const Descriptor& d, std::string_view what) {
    std::string content = read_limited(blob_path(ref.path, d.digest),
                                       std::min(d.size, kMaxJsonSize), std::string(what));
    check_blob(content, BlobExpectation{d.digest, d.size}, what);
    return content;
  };
  ChosenImage chosen = choose_image(index_json, ref.tag, read);
  Image image;
  image.reference = ref.text;
  image.source = "oci-layout";
  image.location = ref.path;
  fill_image(image, chosen);
  const auto& layers = chosen.manifest.layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Descriptor& d = layers[i];
    std::string what = "layer " + std::to_string(i + 1) + " of " + std::to_string(layers.size()) +
                       " (" + d.digest.str() + ")";
    std::string path = blob_path(ref.path, d.digest);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) throw Error(what + " is missing from the layout");
      throw_errno("cannot read " + what + " (" + path + ")");
    }
    if (!S_ISREG(st.st_mode)) throw Error(what + " (" + path + ") is not a regular file");
    if (static_cast<uint64_t>(st.st_size) != d.size)
      throw Error(what + " has " + std::to_string(st.st_size) + " bytes, not the " +
                  std::to_string(d.size) + " its descriptor says");
    image.layers[i].path = path;
    image.layers[i].verified = false;
  }
  return image;
}

// TEXT with its control characters (an image's names may hold any) shown as '?': one line, and
// nothing a terminal would act on.
std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

}  // namespace

Image open_image(const ImageRef& ref, const std::string& images_dir, const PullOptions& pull) {
  try {
    switch (ref.kind) {
      case ImageRef::Kind::kOciLayout:
        return open_layout(ref);
      case ImageRef::Kind::kOciArchive:
        return open_oci_archive(ref, images_dir);
      case ImageRef::Kind::kDockerArchive:
        return open_docker_archive(ref, images_dir);
      case ImageRef::Kind::kRegistry:
        return pull_image(ref.registry, ref.text, images_dir, pull);
    }
    throw Error("unknown kind of image reference");
  } catch (const Error& e) {
    throw Error(one_line("image " + ref.text + ": " + e.what()), one_line(e.hint()), e.exit_code());
  }
}

}  // namespace execvm
