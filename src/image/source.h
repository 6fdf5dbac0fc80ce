// open_image: an image reference made into an Image (image/image.h) that the flattener reads.
#pragma once

#include <string>

#include "image/image.h"
#include "image/reference.h"
#include "registry/pull.h"

namespace execvm {

// Opens REF. For a layout: reads index.json (following nested indexes), picks the manifest by
// tag (org.opencontainers.image.ref.name; several manifests and no tag: an error listing the
// tags), picks linux/amd64 from an index (attestation manifests skipped; none: an error listing
// the platforms the image has), reads and verifies the manifest and the config against their
// digests and sizes before parsing them, and fills Image: config, layers with their media types,
// sizes and diff IDs (rootfs.diff_ids, one per layer), the chain ID and the blobs' paths. A
// layout directory's layers are its own files (verified = false: the flattener hashes them as it
// reads; their presence and size are checked here), and nothing is written anywhere. An archive's
// blobs are imported into the blob store under IMAGES_DIR (verified on the way: verified = true;
// a layer the store had already is not read again: verified = false), and nothing else is
// written.
// Throws Error (exit 125), one line naming REF and the bad part: a missing blob, a digest or size
// mismatch, a truncated archive, bad JSON (naming the field), an unsupported media type, a
// manifest without layers, an image for another platform.
// A registry's image is pulled into the blob store as PULL says (registry/pull.h).
Image open_image(const ImageRef& ref, const std::string& images_dir,
                 const PullOptions& pull = PullOptions{});

}  // namespace execvm
