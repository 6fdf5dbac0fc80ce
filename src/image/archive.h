// Images in tar archives: docker-archive (`docker save`, `podman save`, skopeo: the legacy
// manifest.json form, and the OCI layout with a manifest.json beside it that Docker 25+ writes)
// and oci-archive (an OCI layout in a tar). The archive is read with libarchive, front to back,
// a few times: once for its table of members and its small files (the JSON documents), once more
// to import the layers the store lacks, verifying each on the way. Links between members are
// followed within the archive only; nothing of it is written but blobs into the store.
#pragma once

#include <string>

#include "image/image.h"
#include "image/reference.h"

namespace execvm {

enum class ArchiveKind { kDocker, kOci, kNeither };

// What the tar archive at PATH holds at its top: a manifest.json (a docker-archive, with or
// without an OCI layout beside it), else an oci-layout file (an oci-archive), else neither.
// Throws Error when PATH cannot be read or is not a tar archive.
ArchiveKind archive_kind(const std::string& path);

// Opens REF (an oci-archive or a docker-archive) as open_image() (image/source.h) says:
// the blobs the chosen image needs are imported into the store under IMAGES_DIR.
Image open_oci_archive(const ImageRef& ref, const std::string& images_dir);
Image open_docker_archive(const ImageRef& ref, const std::string& images_dir);

}  // namespace execvm
