#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "cli/commands.h"
#include "image/catalog.h"
#include "image/oci.h"
#include "image/reference.h"
#include "image/rootfs_cache.h"
#include "image/source.h"
#include "root/image_root.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/progress.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

namespace {

constexpr const char* kImageUsage =
    R"(usage: execvm image pull [--platform OS/ARCH[/VARIANT]] [-q|--quiet] [--tls-verify=false]
                         [--cert-dir DIR] [--authfile FILE] REF
       execvm image ls
       execvm image inspect REF
       execvm image rm REF|ID...
       execvm image prune [--all]

The images execvm has pulled or run, and their cache ($XDG_CACHE_HOME/execvm/images, by
default ~/.cache/execvm/images): each image's root filesystem (a squashfs image made the first
time it runs, shared by every image with the same layers) and the blobs pulled from registries
or imported from archives.

  pull     fetch REF from its registry (alpine, ghcr.io/org/app:1.2, host:5000/app@sha256:...)
           into the cache and convert it, as --image does when the cache lacks it; layers
           the cache has are not fetched again. Progress goes to stderr (one line per layer on a
           terminal), the image ID to stdout; -q, --quiet: none of the progress.
           --platform: another platform's image from an index (default linux/amd64);
           --tls-verify=false: plain HTTP and untrusted certificates allowed; --cert-dir DIR
           and --authfile FILE replace certs.d and the auth files

  ls       the images run so far: reference, image ID (its config's digest), the size of its
           root filesystem and of its imported blobs, when it last ran
  inspect  what REF (as --image takes it) holds: its config, platform, layers and whether its
           root filesystem is cached, as JSON
  rm       forget the images REF names (a reference as run, a path, or an image ID or a prefix
           of 4 or more of its digits) and remove the files only they used
  prune    forget the images whose layout or archive is gone, and remove the files no image
           refers to (a run killed half-way left them; those written in the last hour stay, as
           a run that has not finished may be making them); --all: every image and file of
           the cache but what a run is converting now
)";

uint64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string short_id(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(7, 12) : digest;
}

// The root filesystem image of the cache that FILE goes with (X.squashfs for X.squashfs,
// X.squashfs.ok and X.squashfs.lock), or "" for a temporary file or any other.
std::string entry_of(const std::string& rootfs_dir, const std::string& file) {
  if (parent_directory(file) != rootfs_dir) return "";
  std::string name = base_name(file);
  if (name.starts_with(".")) return "";
  for (std::string_view side : {".ok", ".lock"}) {
    if (name.ends_with(side)) {
      name.resize(name.size() - side.size());
      break;
    }
  }
  return name.ends_with(".squashfs") ? join_path(rootfs_dir, name) : "";
}

// Removes PATHS; a root filesystem image goes with its record and lock, under that lock, and
// stays when a run holds it (one converting that entry). Prints how much went.
void remove_files(const Catalog& catalog, const std::vector<std::string>& paths) {
  std::string rootfs_dir = join_path(catalog.directory(), "rootfs");
  uint64_t bytes = 0;
  size_t count = 0;
  auto remove = [&](const std::string& path) {
    uint64_t size = file_size(path);
    if (::unlink(path.c_str()) == 0) {
      bytes += size;
      ++count;
    }
  };
  std::set<std::string> entries;
  for (const auto& path : paths) {
    std::string entry = entry_of(rootfs_dir, path);
    if (entry.empty())
      remove(path);
    else
      entries.insert(entry);
  }
  for (const auto& entry : entries) {
    std::string lock = entry + ".lock";
    Fd held(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!held) {
      printf("kept %s: cannot open its lock (%s)\n", base_name(entry).c_str(), strerror(errno));
      continue;
    }
    if (::flock(held.get(), LOCK_EX | LOCK_NB) != 0) {
      printf("kept %s: a run is converting it\n", base_name(entry).c_str());
      continue;
    }
    remove(entry);
    remove(entry + ".ok");
    remove(lock);
  }
  printf("removed %zu file%s, %s\n", count, count == 1 ? "" : "s", format_mib(bytes).c_str());
}

// The files of REMOVED that no record of KEPT uses.
std::vector<std::string> files_only_of(const std::vector<CatalogRecord>& removed,
                                       const std::vector<CatalogRecord>& kept) {
  std::set<std::string> used;
  for (const auto& r : kept) {
    used.insert(r.rootfs);
    used.insert(r.blobs.begin(), r.blobs.end());
  }
  std::set<std::string> out;
  for (const auto& r : removed) {
    if (!used.count(r.rootfs)) out.insert(r.rootfs);
    for (const auto& b : r.blobs)
      if (!used.count(b)) out.insert(b);
  }
  return {out.begin(), out.end()};
}

int list_images(const Catalog& catalog) {
  auto records = catalog.list();
  if (records.empty()) {
    std::cout << "no images run yet (the cache is " << catalog.directory() << ")\n";
    return 0;
  }
  printf("%-40s %-12s %-14s %10s %10s  %s\n", "REFERENCE", "IMAGE ID", "SOURCE", "ROOTFS", "BLOBS",
         "LAST USED");
  for (const auto& r : records) {
    uint64_t blobs = 0;
    for (const auto& b : r.blobs) blobs += file_size(b);
    std::string rootfs =
        ::access(r.rootfs.c_str(), F_OK) == 0 ? format_mib(file_size(r.rootfs)) : "(removed)";
    printf("%-40s %-12s %-14s %10s %10s  %s\n", r.reference.c_str(),
           short_id(r.config_digest).c_str(), r.source.c_str(), rootfs.c_str(),
           format_mib(blobs).c_str(), r.last_used.c_str());
  }
  return 0;
}

// `execvm image pull`: the image fetched (the tag's manifest asked for again), converted and
// recorded; its ID on stdout.
int pull_image_command(const std::string& text, const PullOptions& options) {
  std::string dir = images_directory();
  ImageRef ref = parse_image_ref(text, current_directory());
  if (ref.kind != ImageRef::Kind::kRegistry)
    throw Error(text + " is a " + std::string(kind_name(ref.kind)) +
                    " image here, not a registry's: there is nothing to pull",
                "run it with --image, or write docker://NAME for a registry's image");
  Image image = open_image(ref, dir, options);
  RootfsEntry entry = convert_image(image, dir, options.quiet);
  Catalog(dir).put(catalog_record(image, entry.path, dir, ::time(nullptr)));
  std::cout << image.config_digest << "\n";
  return 0;
}

int inspect_image(const std::string& text) {
  using json = nlohmann::json;
  std::string dir = images_directory();
  // A registry's image as the cache has it: inspecting asks no registry.
  PullOptions offline;
  offline.policy = PullPolicy::kNever;
  Image image = open_image(parse_image_ref(text, current_directory()), dir, offline);
  const ImageConfig& c = image.config;
  json config = {{"Env", c.env}, {"WorkingDir", c.working_dir}, {"User", c.user}};
  config["Entrypoint"] = c.entrypoint ? json(*c.entrypoint) : json(nullptr);
  config["Cmd"] = c.cmd ? json(*c.cmd) : json(nullptr);
  if (!c.hostname.empty()) config["Hostname"] = c.hostname;
  config["ExposedPorts"] = c.exposed_ports;
  json labels = json::object();
  for (const auto& [k, v] : c.labels) labels[k] = v;
  config["Labels"] = labels;
  json layers = json::array();
  for (const auto& l : image.layers)
    layers.push_back({{"digest", l.digest},
                      {"mediaType", l.media_type},
                      {"size", l.size},
                      {"diffID", l.diff_id}});
  std::string rootfs = rootfs_path(image, dir);
  json cached = nullptr;
  if (::access((rootfs + ".ok").c_str(), F_OK) == 0)
    cached = {{"path", rootfs}, {"size", file_size(rootfs)}};
  json out = {{"reference", image.reference},
              {"source", image.source},
              {"location", image.location},
              {"tag", image.tag},
              {"id", image.config_digest},
              {"manifest", image.manifest_digest},
              {"platform", image.platform},
              {"created", image.created},
              {"chainID", image.chain_id},
              {"config", config},
              {"layers", layers},
              {"rootfs", cached}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int remove_images(const Catalog& catalog, const std::vector<std::string>& names) {
  if (names.empty()) throw Error("execvm image rm needs an image", "see execvm image --help");
  // Every name found before anything is removed: a wrong one removes nothing.
  std::vector<CatalogRecord> removed;
  for (const auto& name : names) {
    auto found = catalog.find(name);
    if (found.empty())
      throw Error("no image " + shell_quote(name) + " in the catalog",
                  "execvm image ls lists the images run so far");
    for (const auto& r : found)
      if (std::find(removed.begin(), removed.end(), r) == removed.end()) removed.push_back(r);
  }
  for (const auto& r : removed) {
    catalog.remove(r);
    printf("removed %s (%s)\n", r.reference.c_str(), short_id(r.config_digest).c_str());
  }
  remove_files(catalog, files_only_of(removed, catalog.list()));
  return 0;
}

int prune_images(const Catalog& catalog, bool all) {
  std::vector<CatalogRecord> kept, dropped;
  for (const auto& r : catalog.list()) {
    // A layout or archive may be gone; a registry's image is in the cache itself.
    bool gone = r.source != "registry" && ::access(r.location.c_str(), F_OK) != 0;
    if (all || gone) {
      catalog.remove(r);
      printf("removed %s (%s)\n", r.reference.c_str(), short_id(r.config_digest).c_str());
      dropped.push_back(r);
    } else {
      kept.push_back(r);
    }
  }
  // What no record names and is new may be a run's that has not written its record yet: left
  // for an hour, but by --all.
  remove_files(catalog, catalog.unreferenced(kept, dropped, all ? 0 : Catalog::kGraceSeconds));
  return 0;
}

}  // namespace

Command add_image_command(CLI::App& app) {
  CLI::App* image = app.add_subcommand("image", "the images execvm has run, and their cache");
  CLI::App* pull = image->add_subcommand("pull", "fetch an image from its registry");
  CLI::App* ls = image->add_subcommand("ls", "list the images run so far");
  CLI::App* inspect = image->add_subcommand("inspect", "what an image holds");
  CLI::App* rm = image->add_subcommand("rm", "forget images and remove their files");
  CLI::App* prune = image->add_subcommand("prune", "remove what no image refers to");
  struct State {
    bool help = false, all = false;
    std::string ref;
    std::vector<std::string> names;
    std::string platform = kDefaultPlatform, tls_verify, cert_dir, authfile;
    bool quiet = false;
  };
  auto state = std::make_shared<State>();
  for (CLI::App* sub : {image, pull, ls, inspect, rm, prune})
    sub->add_flag("-h,--help", state->help);
  pull->add_option("REF", state->ref)->required();
  pull->add_option("--platform", state->platform);
  pull->add_flag("-q,--quiet", state->quiet);
  pull->add_option("--tls-verify", state->tls_verify);
  pull->add_option("--cert-dir", state->cert_dir);
  pull->add_option("--authfile", state->authfile);
  inspect->add_option("REF", state->ref)->required();
  rm->add_option("REF", state->names)->required();
  prune->add_flag("--all", state->all);
  return {image, [=] {
            if (state->help) {
              std::cout << kImageUsage;
              return 0;
            }
            Catalog catalog(images_directory());
            if (*pull) {
              PullOptions options;
              options.policy = PullPolicy::kAlways;
              options.background = true;  // layers converted as they arrive
              options.platform = parse_platform(state->platform).str();
              options.quiet = state->quiet;
              if (!state->tls_verify.empty()) {
                if (state->tls_verify != "true" && state->tls_verify != "false")
                  throw Error("--tls-verify " + state->tls_verify + ": not true or false",
                              "write --tls-verify=false");
                options.registry.tls_verify = state->tls_verify == "true";
              }
              std::string cwd = current_directory();
              if (!state->cert_dir.empty())
                options.registry.cert_dir = lexical_absolute(cwd, state->cert_dir);
              if (!state->authfile.empty())
                options.registry.auth_file = lexical_absolute(cwd, state->authfile);
              if (!state->quiet)
                options.registry.note = [](const std::string& note) {
                  write_all(STDERR_FILENO, "execvm: note: " + note + "\n");
                };
              return pull_image_command(state->ref, options);
            }
            if (*ls) return list_images(catalog);
            if (*inspect) return inspect_image(state->ref);
            if (*rm) return remove_images(catalog, state->names);
            if (*prune) return prune_images(catalog, state->all);
            throw Error("execvm image needs a command: pull, ls, inspect, rm or prune",
                        "see execvm image --help");
          }};
}

}  // namespace execvm
