// The image mode's root (--image REF): the image's root filesystem from the cache (converted
// the first time, with a progress bar on a terminal), on a virtio disk read-only under the
// guest's overlay, and the run recorded in the image catalog.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/volume.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/rootfs_cache.h"
#include "root/disk_root.h"
#include "root/root.h"

namespace execvm {

// The image cache: $XDG_CACHE_HOME/execvm/images.
std::string images_directory();

// What --image TEXT names, a relative path in it taken against BASE (the current directory when
// empty). Throws Error as parse_image_ref.
ImageRef image_reference(const std::string& text, const std::string& base);

// IMAGE's root filesystem from the cache under IMAGES_DIR, converted when missing (with a
// progress bar on a terminal, none when QUIET; Ctrl-C ends it with nothing left behind).
RootfsEntry convert_image(const Image& image, const std::string& images_dir, bool quiet);

class ImageRoot : public Root {
 public:
  // Checks the volumes at once; the conversion waits for prepare().
  ImageRoot(Image image, std::string images_dir, std::vector<Volume> volumes);

  // The root filesystem (converting the image when the cache lacks it), then the disk's devices.
  RootDevices prepare() override;
  GuestMounts mounts() const override { return disk_->mounts(); }
  void vm_started() override { disk_->vm_started(); }
  std::string kind() const override { return "image"; }

 private:
  Image image_;
  std::string images_dir_;
  std::vector<Volume> volumes_;
  std::unique_ptr<DiskRoot> disk_;
};

}  // namespace execvm
