// The JSON documents of OCI images and Docker's: image indexes (and manifest lists), manifests,
// image configs and docker-archive's manifest.json, parsed and checked; and the choice of one
// image from a layout's index.json by tag and platform.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/digest.h"
#include "image/image.h"

namespace execvm {

namespace media_type {
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media_type

// How a layer's tar is compressed.
enum class LayerCompression { kNone, kGzip, kZstd };
// The compression that layer media type MEDIA_TYPE says (OCI's plain, +gzip and +zstd layers,
// their non-distributable variants, Docker's gzip layers, foreign ones too); nullopt for any
// other media type.
std::optional<LayerCompression> layer_compression(std::string_view media_type);

struct Platform {
  std::string os, architecture, variant, os_version;
  // "linux/amd64", "linux/arm/v7".
  std::string str() const;
};

// The platform execvm runs (its guests are x86_64).
inline constexpr char kDefaultPlatform[] = "linux/amd64";
inline const Platform kLinuxAmd64{"linux", "amd64", "", ""};

// "OS/ARCH[/VARIANT]" as --platform takes it. Throws Error (exit 125) for anything else.
Platform parse_platform(std::string_view text);

// A content descriptor: what a manifest or an index points at.
struct Descriptor {
  std::string media_type;  // "" when the descriptor has none
  Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::vector<Descriptor> manifests;
};

struct Manifest {
  std::string
      media_type;  // OCI's or Docker's, as told by the descriptor, the document or its shape
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first, at least one, each of a supported media type
};

// A document a descriptor points at: an index or a manifest.
struct Document {
  enum class Kind { kIndex, kManifest };
  Kind kind = Kind::kManifest;
  Index index;
  Manifest manifest;
};

// What execvm takes of an image config.
struct ParsedConfig {
  ImageConfig config;
  std::string os, architecture, variant, created;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids
};

// One image of docker-archive's manifest.json.
struct DockerArchiveImage {
  std::string config;                  // a member of the archive
  std::vector<std::string> repo_tags;  // "busybox:latest", "docker.io/foo/bar:1"
  std::vector<std::string> layers;     // members of the archive, bottom first
};

// The parsers throw Error (exit 125) naming WHAT and the field at fault ("the manifest
// sha256:...: field \"layers[1].digest\" ...").

// An image index (a layout's index.json, a nested index, a Docker manifest list).
Index parse_index(std::string_view json, std::string_view what);
// The document that a descriptor of media type DESCRIPTOR_TYPE ("" when it has none) points at,
// told apart by its mediaType field, else by DESCRIPTOR_TYPE, else by its content. A document
// that reads as both an index and a manifest, whose mediaType disagrees with the descriptor's, of
// an unsupported media type (Docker schema 1, an artifact), a manifest without layers, or one whose
// config is not a container image's: Error.
Document parse_document(std::string_view json, std::string_view descriptor_type,
                        std::string_view what);
ParsedConfig parse_config(std::string_view json, std::string_view what);
std::vector<DockerArchiveImage> parse_docker_archive_manifest(std::string_view json,
                                                              std::string_view what);

// Checks an OCI layout's oci-layout file (imageLayoutVersion 1.x); throws Error naming WHAT.
void check_oci_layout(std::string_view json, std::string_view what);

// The largest index, manifest or config read (they are held in memory whole).
inline constexpr uint64_t kMaxJsonSize = 16 << 20;

// Reads the blob that DESC points at, checked against its digest and size, and returns it whole;
// throws Error naming WHAT when it is missing, of another size or content, or larger than
// kMaxJsonSize.
using JsonBlobReader = std::function<std::string(const Descriptor& desc, std::string_view what)>;

// One image as chosen from a layout: its manifest (verified) and config (verified and parsed).
struct ChosenImage {
  std::string tag;  // the tag asked for, else the chosen entry's ref.name, else ""
  Descriptor manifest_descriptor;
  Manifest manifest;
  std::string config_json;
  ParsedConfig config;
};

// Chooses one image of the layout whose index.json is INDEX_JSON: by TAG (an entry's
// org.opencontainers.image.ref.name, or its io.containerd.image.name as Docker names go) when one
// is given, else the only image there is (several named ones: an error listing the tags); then
// linux/amd64 from an index, following nested indexes (attestation manifests skipped; none for
// linux/amd64: an error listing the platforms there are). Reads the manifest and the config with
// READ, and checks that the config's diff IDs match the layers.
// WANT is the platform chosen instead of linux/amd64 (--platform).
ChosenImage choose_image(std::string_view index_json, const std::string& tag,
                         const JsonBlobReader& read, const Platform& want = kLinuxAmd64);

// The manifest of the layout whose index.json is INDEX_JSON whose config is CONFIG (any platform),
// as choose_image() returns it; nullopt when none has. Entries that cannot be read (a platform's
// manifest left out of the archive) are passed over.
std::optional<ChosenImage> find_image_by_config(std::string_view index_json, const Digest& config,
                                                const JsonBlobReader& read);

// Fills IMAGE's manifest and config digests, platform, created, config, and its layers (digest,
// media type, size, diff ID; not their paths) and chain ID from CHOSEN.
void fill_image(Image& image, const ChosenImage& chosen, const Platform& want = kLinuxAmd64);

// Checks that CONFIG is for linux/amd64 (or says nothing) and has one diff ID per layer of
// LAYER_COUNT; throws Error otherwise. Sets IMAGE's platform, created, config and chain ID.
void apply_config(Image& image, const ParsedConfig& config, size_t layer_count,
                  const Platform& want = kLinuxAmd64);

}  // namespace execvm
