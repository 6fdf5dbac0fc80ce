#include "root/image_root.h"

#include <time.h>
#include <unistd.h>

#include "image/catalog.h"
#include "image/rootfs_cache.h"
#include "root/host_root.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/paths.h"
#include "util/progress.h"

namespace execvm {

std::string images_directory() {
  return join_path(cache_root(), "images");
}

ImageRef image_reference(const std::string& text, const std::string& base) {
  return parse_image_ref(text, base.empty() ? current_directory() : base);
}

RootfsEntry convert_image(const Image& image, const std::string& images_dir, bool quiet) {
  // Ctrl-C ends a conversion between two steps, its temporary file removed on the way out.
  InterruptGuard guard("the conversion of " + image.reference);
  RootfsEntry entry;
  {
    ProgressBar bar(quiet ? -1 : STDERR_FILENO, "execvm: converting " + image.reference);
    entry = rootfs_for(image, images_dir, [&](const FlattenProgress& p) {
      guard.check();
      // While layers download, their lines are the progress shown.
      if (!image.pending || image.pending->done()) bar.update(p.bytes_done, p.bytes_total);
    });
  }
  // A pull under way (its layers converted as they came, or not needed at all): done.
  if (image.pending) image.pending->finish();
  return entry;
}

ImageRoot::ImageRoot(Image image, std::string images_dir, std::vector<Volume> volumes)
    : image_(std::move(image)), images_dir_(std::move(images_dir)), volumes_(std::move(volumes)) {
  volume_shares(volumes_);  // a bad -v is an error before any conversion
}

RootDevices ImageRoot::prepare() {
  RootfsEntry entry = convert_image(image_, images_dir_, false);
  try {
    Catalog(images_dir_).put(catalog_record(image_, entry.path, images_dir_, ::time(nullptr)));
  } catch (const Error&) {
    // The catalog is for `execvm image ls`; a run does not fail for it.
  }
  disk_ = std::make_unique<DiskRoot>(
      DiskRootRequest{entry.path, entry.fstype, false, "image " + image_.reference, volumes_});
  return disk_->prepare();
}

}  // namespace execvm
