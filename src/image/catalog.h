// The catalog of the images execvm has run: one record per image reference (the same layout
// and tag, or archive and name, is one record), kept under IMAGES_DIR/catalog/ and written
// after each run's conversion or use. `execvm image ls|rm|prune` read it: what a root
// filesystem image or an imported blob belongs to, and what nothing refers to any more.
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

#include "image/image.h"

namespace execvm {

struct CatalogRecord {
  std::string reference;  // as the user last wrote it
  std::string source;     // "oci-layout", "oci-archive", "docker-archive"
  std::string location;   // the layout directory or archive, absolute
  std::string tag;
  std::string config_digest;  // the image ID
  std::string chain_id;
  std::string rootfs;              // the root filesystem image's path in the cache
  std::vector<std::string> blobs;  // the blob store's files it uses (an archive's imports)
  std::string created;             // the image's own
  std::string last_used;           // ISO time of the last run
  bool operator==(const CatalogRecord&) const = default;
};

// The record of running IMAGE from ROOTFS at time NOW (the blobs it holds in IMAGES_DIR's store
// are those of its layers that are under IMAGES_DIR, and for an archive its config and manifest
// when the store has them).
CatalogRecord catalog_record(const Image& image, const std::string& rootfs,
                             const std::string& images_dir, time_t now);

class Catalog {
 public:
  explicit Catalog(std::string images_dir);

  // Adds or replaces the record of the same location and tag (written to a temporary name and
  // renamed: a reader never sees half of one). Throws Error when it cannot be written.
  void put(const CatalogRecord& record) const;
  // Every readable record, most recently used first (an unreadable one is skipped).
  std::vector<CatalogRecord> list() const;
  // Removes the record of RECORD's location and tag; false when there was none.
  bool remove(const CatalogRecord& record) const;

  // The records that WHAT names: a reference as written; a reference as --image takes it, or
  // a location, with or without the tag, relative paths taken against the working directory
  // (a docker-archive's NAME:TAG as Docker normalizes it); or an image ID (the config digest,
  // its hex, or a prefix of it of 4 or more digits).
  std::vector<CatalogRecord> find(const std::string& what) const;

  // How long a file that no record refers to is left alone: a run writes its root filesystem
  // image, and imports an archive's blobs, before its record.
  static constexpr time_t kGraceSeconds = 3600;

  // Files of the cache that no record in KEEP refers to, what prune removes: root filesystem
  // images (each with its record and lock) and blobs that a record in DROPPED referred to or
  // that were last written GRACE seconds ago or more, and temporary files (a name starting with
  // '.' or holding ".tmp") older than an hour, whatever GRACE is.
  std::vector<std::string> unreferenced(const std::vector<CatalogRecord>& keep,
                                        const std::vector<CatalogRecord>& dropped = {},
                                        time_t grace = kGraceSeconds) const;

  const std::string& directory() const { return dir_; }

 private:
  std::string record_path(const CatalogRecord& record) const;
  std::string dir_;
};

}  // namespace execvm
