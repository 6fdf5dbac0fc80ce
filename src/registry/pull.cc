#include "registry/pull.h"

#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "image/blob_store.h"
#include "image/oci.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/paths.h"
#include "util/progress.h"
#include "util/strings.h"
#include "util/sys.h"

namespace execvm {

using nlohmann::json;

namespace {

// A blob the cache does not have, with the network not to be asked.
struct NotCached {};

bool is_manifest_type(const std::string& media_type) {
  return media_type.empty() || media_type == media_type::kOciIndex ||
         media_type == media_type::kOciManifest || media_type == media_type::kDockerList ||
         media_type == media_type::kDockerManifest;
}

std::string tag_record_path(const std::string& images_dir, const RegistryRef& ref) {
  return join_path(
      join_path(join_path(join_path(images_dir, "tags"), ref.registry), ref.repository),
      ref.tag + ".json");
}

std::optional<Descriptor> read_tag_record(const std::string& path) {
  if (!is_regular_file(path)) return std::nullopt;
  try {
    json j = json::parse(read_file(path));
    Descriptor d;
    d.media_type = j.at("mediaType").get<std::string>();
    d.digest = parse_digest(j.at("digest").get<std::string>(), path);
    d.size = j.at("size").get<uint64_t>();
    return d;
  } catch (const std::exception&) {
    return std::nullopt;  // damaged: asked for again
  }
}

void write_tag_record(const std::string& path, const Descriptor& d, const RegistryRef& ref) {
  make_dirs(parent_directory(path));
  json j = {{"name", ref.name()},
            {"mediaType", d.media_type},
            {"digest", d.digest.str()},
            {"size", d.size},
            {"pulled", static_cast<int64_t>(::time(nullptr))}};
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  write_file(temp, j.dump() + "\n");
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw_errno("cannot write " + path);
  }
}

// The one-entry index whose image is TOP: what choose_image() starts from.
std::string index_of(const Descriptor& top) {
  json entry = {{"digest", top.digest.str()}, {"size", top.size}};
  if (!top.media_type.empty()) entry["mediaType"] = top.media_type;
  return json{{"schemaVersion", 2}, {"manifests", json::array({entry})}}.dump();
}

std::string short_digest(const Digest& d) {
  return d.algorithm + ":" + d.hex.substr(0, 12);
}

BlobExpectation expectation(const Descriptor& d) {
  return BlobExpectation{d.digest, d.size ? std::optional<uint64_t>(d.size) : std::nullopt};
}

// Fetches blob D into STORE unless it is there (or another pull brings it meanwhile): its size
// when this call fetched it, else nullopt. PROGRESS sees the bytes so far and may throw to stop.
std::optional<uint64_t> fetch_blob(RegistryClient& client, const BlobStore& store,
                                   const Descriptor& d, const std::string& what,
                                   const std::function<void(uint64_t)>& progress) {
  if (store.contains(d.digest, d.size)) return std::nullopt;
  Fd held = store.lock_blob(d.digest);
  if (store.contains(d.digest, d.size)) {
    store.unlock_blob(d.digest, std::move(held));
    return std::nullopt;
  }
  BlobWriter writer(store, expectation(d), what);
  client.blob(d.digest, writer, what, progress);
  writer.commit();
  store.unlock_blob(d.digest, std::move(held));
  return writer.size();
}

// The layers of one image fetched into the store, options.parallel at a time, bottom first, in
// threads of their own: the conversion waits for each layer as it gets to it (wait()), so that
// it works while the layers after it download. When all are in, the tag's record is written.
class LayerFetch : public PendingLayers {
 public:
  LayerFetch(std::shared_ptr<RegistryClient> client, std::vector<Descriptor> layers,
             std::string images_dir, const PullOptions& options, std::string tag_path,
             Descriptor top, RegistryRef ref)
      : client_(std::move(client)),
        layers_(std::move(layers)),
        store_(std::move(images_dir)),
        options_(options),
        tag_path_(std::move(tag_path)),
        top_(std::move(top)),
        ref_(std::move(ref)),
        ready_(layers_.size(), false) {
    guard_.emplace("the pull of " + ref_.text);
    progress_.emplace(options_.progress_fd, options_.quiet);
    for (const Descriptor& d : layers_)
      items_.push_back(progress_->add(short_digest(d.digest), d.size));
    size_t n = std::max<size_t>(1, std::min<size_t>(options_.parallel, layers_.size()));
    for (size_t t = 0; t < n; ++t) threads_.emplace_back([this] { work(); });
  }

  ~LayerFetch() override {
    failed_ = true;  // the fetches in flight stop at their next piece
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  void wait(size_t layer) override {
    std::unique_lock<std::mutex> hold(mutex_);
    changed_.wait(hold, [&] { return ready_.at(layer) || failed_; });
    if (ready_[layer]) return;
    hold.unlock();
    finish();  // throws the pull's error
    throw Error("layer " + std::to_string(layer + 1) + " was not fetched");
  }

  void finish() override {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    progress_.reset();  // its last lines drawn
    throw_if_interrupted();
    guard_.reset();
    if (first_) std::rethrow_exception(first_);
    if (!recorded_ && !tag_path_.empty()) write_tag_record(tag_path_, top_, ref_);
    recorded_ = true;
  }

  bool done() const override { return finished_ == layers_.size() || failed_; }

  PullStats stats() {
    std::lock_guard<std::mutex> hold(mutex_);
    return stats_;
  }

 private:
  void work() {
    for (;;) {
      size_t i = next_++;
      if (i >= layers_.size() || failed_) return;
      const Descriptor& d = layers_[i];
      std::string what = "layer " + std::to_string(i + 1) + " of " +
                         std::to_string(layers_.size()) + " (" + d.digest.str() + ")";
      try {
        std::optional<uint64_t> fetched =
            fetch_blob(*client_, store_, d, what, [&](uint64_t bytes) {
              if (failed_ || interrupted()) throw Error("stopped");
              progress_->update(items_[i], bytes);
            });
        std::lock_guard<std::mutex> hold(mutex_);
        if (fetched) {
          stats_.layers_fetched++;
          stats_.bytes_fetched += *fetched;
        } else {
          stats_.layers_cached++;
          progress_->update(items_[i], d.size);
        }
        progress_->finish(items_[i], fetched ? "pulled" : "cached");
        ready_[i] = true;
      } catch (...) {
        std::lock_guard<std::mutex> hold(mutex_);
        if (!failed_.exchange(true)) first_ = std::current_exception();
        progress_->finish(items_[i], "failed");
      }
      ++finished_;
      changed_.notify_all();
    }
  }

  std::shared_ptr<RegistryClient> client_;
  std::vector<Descriptor> layers_;
  BlobStore store_;
  PullOptions options_;
  std::string tag_path_;
  Descriptor top_;
  RegistryRef ref_;
  std::optional<InterruptGuard> guard_;
  std::optional<MultiProgress> progress_;
  std::vector<size_t> items_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> ready_;
  PullStats stats_;
  std::exception_ptr first_;
  std::atomic<size_t> next_{0}, finished_{0};
  std::atomic<bool> failed_{false};
  bool recorded_ = false;
  std::vector<std::thread> threads_;  // last: they start once everything else is made
};

class Puller {
 public:
  Puller(const RegistryRef& ref, const std::string& images_dir, const PullOptions& options,
         PullStats& stats)
      : ref_(ref), store_(images_dir), options_(options), stats_(stats) {}

  // The image from what the store holds, starting at TOP; NotCached when a blob is missing
  // (with CLIENT null) or fetched with CLIENT.
  ChosenImage choose(const Descriptor& top, RegistryClient* client) {
    JsonBlobReader read = [&](const Descriptor& d, std::string_view what) -> std::string {
      if (!store_.contains(d.digest)) {
        if (!client) throw NotCached{};
        fetch_document(*client, d, std::string(what));
      }
      std::string content = read_file(store_.path(d.digest));
      if (content.size() > kMaxJsonSize)
        throw Error(std::string(what) + " is larger than " + std::to_string(kMaxJsonSize) +
                    " bytes");
      check_blob(content, expectation(d), what);
      return content;
    };
    return choose_image(index_of(top), "", read, parse_platform(options_.platform));
  }

  // Whether every layer of CHOSEN is in the store.
  bool have_layers(const ChosenImage& chosen) const {
    for (const Descriptor& d : chosen.manifest.layers)
      if (!store_.contains(d.digest, d.size)) return false;
    return true;
  }

  // The manifest the tag (or digest) names, stored; its descriptor.
  Descriptor fetch_top(RegistryClient& client) {
    std::string reference = ref_.digest.empty() ? ref_.tag : ref_.digest;
    RegistryClient::FetchedManifest m = client.manifest(reference);
    Descriptor top;
    top.media_type = m.media_type;
    if (!is_manifest_type(top.media_type)) top.media_type.clear();  // told by its content
    top.digest = m.digest;
    top.size = m.body.size();
    if (!store_.contains(top.digest, top.size))
      store_.import_bytes(m.body, expectation(top), "the manifest " + top.digest.str());
    return top;
  }

  void fetch_document(RegistryClient& client, const Descriptor& d, const std::string& what) {
    if (is_manifest_type(d.media_type)) {
      RegistryClient::FetchedManifest m = client.manifest(d.digest.str());
      store_.import_bytes(m.body, expectation(d), what);
    } else {
      fetch_blob(client, store_, d, what, {});
    }
  }

 private:
  const RegistryRef& ref_;
  BlobStore store_;
  const PullOptions& options_;
  PullStats& stats_;
};

Image make_image(const Descriptor& top, const ChosenImage& chosen, const RegistryRef& ref,
                 const std::string& text, const std::string& images_dir,
                 const PullOptions& options) {
  Image image;
  image.reference = text;
  image.source = "registry";
  image.location = ref.domain() + "/" + ref.repository;
  fill_image(image, chosen, parse_platform(options.platform));
  image.tag = ref.digest.empty() ? ref.tag : ref.digest;
  if (top.digest != chosen.manifest_descriptor.digest) image.index_digest = top.digest.str();
  BlobStore store(images_dir);
  for (size_t i = 0; i < image.layers.size(); ++i) {
    image.layers[i].path = store.path(chosen.manifest.layers[i].digest);
    image.layers[i].verified = true;  // checked against its digest before it was stored
  }
  return image;
}

}  // namespace

PullPolicy parse_pull_policy(const std::string& text) {
  if (text == "missing") return PullPolicy::kMissing;
  if (text == "always" || text == "newer") return PullPolicy::kAlways;
  if (text == "never") return PullPolicy::kNever;
  throw Error("--pull " + text + ": not missing, always or never");
}

Image pull_image(const RegistryRef& ref, const std::string& text, const std::string& images_dir,
                 const PullOptions& options, PullStats* stats_out) {
  PullStats stats;
  Puller puller(ref, images_dir, options, stats);
  std::string tag_path = ref.digest.empty() ? tag_record_path(images_dir, ref) : "";
  BlobStore store(images_dir);

  // What the cache has: the digest's manifest, or the tag's as last pulled.
  std::optional<Descriptor> top;
  if (!ref.digest.empty()) {
    Descriptor d;
    d.digest = parse_digest(ref.digest, ref.text);
    uint64_t size = 0;
    if (is_regular_file(store.path(d.digest), &size)) {
      d.size = size;
      top = d;
    }
  } else if (options.policy != PullPolicy::kAlways) {
    top = read_tag_record(tag_path);
  }
  if (top && options.policy != PullPolicy::kAlways) {
    try {
      ChosenImage chosen = puller.choose(*top, nullptr);
      if (puller.have_layers(chosen)) {
        if (stats_out) *stats_out = stats;
        return make_image(*top, chosen, ref, text, images_dir, options);
      }
    } catch (const NotCached&) {
      // Pulled only in part: the registry is asked below.
    }
  }
  if (options.policy == PullPolicy::kNever)
    throw Error("it is not in the cache, and --pull never was given",
                "pull it first (execvm image pull " + text + ") or drop --pull never");

  InterruptGuard guard("the pull of " + text);
  std::vector<std::string> conf_files = options.registries_conf_files.empty()
                                            ? default_registries_conf_files()
                                            : options.registries_conf_files;
  std::vector<RegistryEndpoint> endpoints =
      registry_endpoints(load_registries_conf(conf_files), ref);
  stats.asked_registry = true;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    auto client = std::make_shared<RegistryClient>(endpoints[i], options.registry);
    try {
      Descriptor fetched = puller.fetch_top(*client);
      ChosenImage chosen = puller.choose(fetched, client.get());
      auto layers = std::make_shared<LayerFetch>(client, chosen.manifest.layers, images_dir,
                                                 options, tag_path, fetched, ref);
      Image image = make_image(fetched, chosen, ref, text, images_dir, options);
      if (options.background) {
        image.pending = layers;
      } else {
        layers->finish();
        PullStats fetched_stats = layers->stats();
        stats.layers_fetched = fetched_stats.layers_fetched;
        stats.layers_cached = fetched_stats.layers_cached;
        stats.bytes_fetched += fetched_stats.bytes_fetched;
      }
      if (stats_out) *stats_out = stats;
      return image;
    } catch (const Error& e) {
      throw_if_interrupted();
      if (i + 1 == endpoints.size()) throw;
      if (options.registry.note)
        options.registry.note("the mirror " + client->where() + " failed (" + e.what() +
                              "); trying the next");
    }
  }
  throw Error("no registry to pull from");
}

}  // namespace execvm
