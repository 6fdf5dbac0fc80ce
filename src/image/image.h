// An OCI image as execvm uses it: where it came from, its config (what a run takes of it) and
// its layers in order, each a blob in a file that the flattener reads. Made by open_image()
// (image/source.h) from a layout directory or an archive; turned into a root filesystem image
// by the flattener (image/flatten.h) and kept in the cache (image/rootfs_cache.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace execvm {

// What `docker run` takes of an image's config ("config" in the OCI image config). A list
// that the image leaves out (null or absent) is unset, which differs from an empty one.
struct ImageConfig {
  std::vector<std::string> env;  // "NAME=value", in order
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::string working_dir;                 // "" when unset
  std::string user;                        // "", "name", "uid", "uid:gid", "name:group"
  std::string hostname;                    // "" when unset (Docker's legacy config has it)
  std::vector<std::string> exposed_ports;  // "80/tcp", for `image inspect`
  std::vector<std::pair<std::string, std::string>> labels;
  bool operator==(const ImageConfig&) const = default;
};

// One layer: a blob holding a tar, compressed as its media type says.
struct ImageLayer {
  std::string digest;      // "sha256:<hex>" of the blob as stored (compressed)
  std::string media_type;  // OCI or Docker layer media type
  uint64_t size = 0;       // of the blob, as the manifest says (0 when it does not)
  std::string diff_id;     // "sha256:<hex>" of the uncompressed tar, from the config
  std::string path;        // the file holding the blob (in a layout directory or the cache)
  bool verified = false;   // PATH's content was hashed against DIGEST already
  bool operator==(const ImageLayer&) const = default;
};

// Layers still arriving (a registry pull under way): their files appear one by one.
class PendingLayers {
 public:
  virtual ~PendingLayers() = default;
  // Returns once layer LAYER (from 0) is in its file; throws the pull's Error when it fails.
  virtual void wait(size_t layer) = 0;
  // Returns once every layer is in (and what the pull records is written); throws as wait().
  virtual void finish() = 0;
  // Whether no layer is still arriving (all in, or the pull failed).
  virtual bool done() const = 0;
};

struct Image {
  std::string reference;        // as the user wrote it
  std::string source;           // "oci-layout", "oci-archive", "docker-archive"
  std::string location;         // the absolute path of the layout directory or archive
  std::string tag;              // the tag chosen, if any
  std::string manifest_digest;  // "sha256:<hex>"
  std::string index_digest;     // the index the manifest was chosen from (a registry's), if any
  std::string config_digest;    // "sha256:<hex>": the image ID, as docker shows it
  std::string platform;         // "linux/amd64"
  std::string created;          // the config's "created", if any
  ImageConfig config;
  std::vector<ImageLayer> layers;  // bottom first
  // The OCI chain ID of the layers' diff IDs ("sha256:<hex>"): what the root filesystem
  // image is keyed by.
  std::string chain_id;
  // Set while the layers are still being pulled (registry/pull.h): a conversion waits on it.
  std::shared_ptr<PendingLayers> pending;
};

}  // namespace execvm
