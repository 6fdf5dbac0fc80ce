#include "image/catalog.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/paths.h"
#include "util/sys.h"
#include "util/testing.h"

namespace execvm {
namespace {

using testing::TempDir;

const std::string kConfigA = "sha256:" + std::string(60, 'a') + "1234";
const std::string kConfigB = "sha256:abcd" + std::string(60, 'b');
const std::string kChain = "sha256:" + std::string(64, 'c');

CatalogRecord record(const std::string& images, const std::string& location, const std::string& tag,
                     const std::string& config, const std::string& last_used) {
  CatalogRecord r;
  r.reference = "oci:" + location + (tag.empty() ? "" : ":" + tag);
  r.source = "oci-layout";
  r.location = location;
  r.tag = tag;
  r.config_digest = config;
  r.chain_id = kChain;
  r.rootfs = images + "/rootfs/" + config.substr(7) + ".v1.squashfs";
  r.created = "2026-01-01T00:00:00Z";
  r.last_used = last_used;
  return r;
}

// The file NAME under DIR with an mtime AGE seconds ago.
std::string aged_file(const std::string& dir, const std::string& name, time_t age) {
  make_dirs(dir);
  std::string path = join_path(dir, name);
  write_file(path, "x");
  time_t then = ::time(nullptr) - age;
  struct utimbuf times = {then, then};
  EXPECT_EQ(::utime(path.c_str(), &times), 0) << path;
  return path;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Catalog, RecordsRoundTrip) {
  TempDir tmp;
  std::string images = tmp / "images";
  Catalog catalog(images);
  EXPECT_TRUE(catalog.list().empty());  // no catalog directory yet
  CatalogRecord r = record(images, "/layouts/a", "1.0", kConfigA, "2026-02-01T10:00:00Z");
  r.source = "docker-archive";
  r.blobs = {images + "/blobs/sha256/" + std::string(64, '1'),
             images + "/blobs/sha256/" + std::string(64, '2')};
  catalog.put(r);
  ASSERT_EQ(catalog.list(), std::vector<CatalogRecord>{r});
  // Written whole: one file, no temporary left beside it.
  auto names = directory_names(images + "/catalog");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(names[0].ends_with(".json")) << names[0];
  EXPECT_EQ(catalog.unreferenced({r}), std::vector<std::string>{});
  EXPECT_EQ(catalog.directory(), images);
}

TEST(Catalog, PutReplacesTheRecordOfTheSameLocationAndTag) {
  TempDir tmp;
  std::string images = tmp / "images";
  Catalog catalog(images);
  CatalogRecord first = record(images, "/layouts/a", "1.0", kConfigA, "2026-02-01T10:00:00Z");
  catalog.put(first);
  CatalogRecord again = record(images, "/layouts/a", "1.0", kConfigB, "2026-02-01T11:00:00Z");
  again.reference = "/layouts/a:1.0";  // written another way, retagged to other content
  catalog.put(again);
  EXPECT_EQ(catalog.list(), std::vector<CatalogRecord>{again});

  // Another tag of the same layout, or the same tag of another layout, is another record.
  CatalogRecord other_tag = record(images, "/layouts/a", "2.0", kConfigA, "2026-02-01T09:00:00Z");
  CatalogRecord no_tag = record(images, "/layouts/a", "", kConfigA, "2026-02-01T08:00:00Z");
  CatalogRecord other_place = record(images, "/layouts/b", "1.0", kConfigA, "2026-02-01T07:00:00Z");
  for (const auto& r : {other_tag, no_tag, other_place}) catalog.put(r);
  EXPECT_EQ(catalog.list(), (std::vector<CatalogRecord>{again, other_tag, no_tag, other_place}));

  EXPECT_TRUE(catalog.remove(other_tag));
  EXPECT_FALSE(catalog.remove(other_tag));
  EXPECT_EQ(catalog.list(), (std::vector<CatalogRecord>{again, no_tag, other_place}));
}

TEST(Catalog, ListsTheMostRecentlyUsedFirstAndSkipsWhatDoesNotRead) {
  TempDir tmp;
  std::string images = tmp / "images";
  Catalog catalog(images);
  CatalogRecord old_one = record(images, "/l/old", "", kConfigA, "2025-12-31T23:59:59Z");
  CatalogRecord newest = record(images, "/l/new", "", kConfigA, "2026-03-01T00:00:00Z");
  CatalogRecord middle = record(images, "/l/mid", "", kConfigB, "2026-01-15T12:00:00Z");
  for (const auto& r : {old_one, newest, middle}) catalog.put(r);
  EXPECT_EQ(catalog.list(), (std::vector<CatalogRecord>{newest, middle, old_one}));

  // A record cut short, one that is not an object, one missing a field: skipped, the rest read.
  tmp.write("images/catalog/cut.json", R"({"reference": "x", "source": )");
  tmp.write("images/catalog/array.json", "[1, 2]");
  tmp.write("images/catalog/partial.json", R"({"reference": "x", "source": "oci-layout"})");
  tmp.write("images/catalog/notes.txt", "not a record");
  EXPECT_EQ(catalog.list(), (std::vector<CatalogRecord>{newest, middle, old_one}));
}

TEST(Catalog, FindsByReferencePathOrImageId) {
  TempDir tmp;
  std::string images = tmp / "images";
  std::string layout = tmp.mkdir("layout");
  Catalog catalog(images);
  CatalogRecord a = record(images, layout, "1.0", kConfigA, "2026-02-01T10:00:00Z");
  a.reference = "oci:./layout:1.0";
  CatalogRecord a2 = record(images, layout, "2.0", kConfigB, "2026-02-01T09:00:00Z");
  CatalogRecord b = record(images, "/archives/b.tar", "", kConfigB, "2026-02-01T08:00:00Z");
  b.source = "docker-archive";
  b.reference = "docker-archive:/archives/b.tar";
  for (const auto& r : {a, a2, b}) catalog.put(r);
  auto found = [&](const std::string& what) {
    std::vector<std::string> refs;
    for (const auto& r : catalog.find(what)) refs.push_back(r.reference);
    return refs;
  };
  using V = std::vector<std::string>;
  // The reference as it was written.
  EXPECT_EQ(found("oci:./layout:1.0"), V{a.reference});
  EXPECT_EQ(found("docker-archive:/archives/b.tar"), V{b.reference});
  // The location: every tag of it; with a tag, that one.
  EXPECT_EQ(found(layout), (V{a.reference, a2.reference}));
  EXPECT_EQ(found(layout + ":2.0"), V{a2.reference});
  EXPECT_EQ(found("/archives/b.tar"), V{b.reference});
  // The image ID: whole, with its algorithm, or a prefix of 4 or more digits.
  EXPECT_EQ(found(kConfigA), V{a.reference});
  EXPECT_EQ(found(kConfigA.substr(7)), V{a.reference});
  EXPECT_EQ(found(kConfigA.substr(7, 4)), V{a.reference});
  EXPECT_EQ(found("abcd"), (V{a2.reference, b.reference}));
  EXPECT_EQ(found("sha256:abcd"), (V{a2.reference, b.reference}));
  // Not by a 3-digit prefix, nor by a prefix of something else, nor by what no record has.
  EXPECT_EQ(found("abc"), V{});
  EXPECT_EQ(found(kConfigA.substr(7, 3)), V{});
  EXPECT_EQ(found("bbbb"), V{});
  EXPECT_EQ(found("ABCD"), V{});
  EXPECT_EQ(found(""), V{});
  EXPECT_EQ(found("nosuch"), V{});
  EXPECT_EQ(found(kConfigA.substr(7) + "0"), V{});
  EXPECT_EQ(found("/archives"), V{});
}

TEST(Catalog, FindsAPathAsTheRunsWroteItFromAnotherDirectory) {
  TempDir tmp;
  std::string images = tmp / "images";
  std::string layout = tmp.mkdir("layout");
  tmp.mkdir("elsewhere");
  Catalog catalog(images);
  CatalogRecord a = record(images, layout, "1.0", kConfigA, "2026-02-01T10:00:00Z");
  a.reference = "oci:" + layout + ":1.0";
  catalog.put(a);
  std::string cwd = current_directory();
  ASSERT_EQ(::chdir((tmp / "elsewhere").c_str()), 0);
  std::vector<CatalogRecord> relative = catalog.find("../layout");
  std::vector<CatalogRecord> dotted = catalog.find("./../layout/");
  std::vector<CatalogRecord> prefixed = catalog.find("oci:../layout:1.0");
  std::vector<CatalogRecord> other_tag = catalog.find("oci:../layout:2.0");
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
  EXPECT_EQ(relative, std::vector<CatalogRecord>{a});
  EXPECT_EQ(dotted, std::vector<CatalogRecord>{a});
  EXPECT_EQ(prefixed, std::vector<CatalogRecord>{a});
  EXPECT_EQ(other_tag, std::vector<CatalogRecord>{});
}

TEST(Catalog, FindsADockerArchiveByItsImageName) {
  TempDir tmp;
  std::string images = tmp / "images";
  std::string archive = tmp.write("app.tar", "");
  Catalog catalog(images);
  CatalogRecord a =
      record(images, archive, "docker.io/test/app:1", kConfigA, "2026-02-02T00:00:00Z");
  a.source = "docker-archive";
  a.reference = "docker-archive:" + archive;
  CatalogRecord b =
      record(images, archive, "docker.io/library/busybox:latest", kConfigB, "2026-02-01T00:00:00Z");
  b.source = "docker-archive";
  b.reference = "docker-archive:" + archive + ":busybox";
  catalog.put(a);
  catalog.put(b);
  auto found = [&](const std::string& what) {
    std::vector<std::string> tags;
    for (const auto& r : catalog.find(what)) tags.push_back(r.tag);
    return tags;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(found("docker-archive:" + archive + ":test/app:1"), V{a.tag});
  EXPECT_EQ(found("docker-archive:" + archive + ":docker.io/test/app:1"), V{a.tag});
  EXPECT_EQ(found("docker-archive:" + archive + ":busybox:latest"), V{b.tag});
  EXPECT_EQ(found("docker-archive:" + archive + ":test/app:2"), V{});
  EXPECT_EQ(found("docker-archive:" + archive), (V{a.tag, b.tag}));
  EXPECT_EQ(found(archive), (V{a.tag, b.tag}));
}

TEST(Catalog, CatalogRecordKeepsOnlyTheBlobsOfTheCache) {
  TempDir tmp;
  std::string images = tmp / "images";
  Image image;
  image.reference = "docker-archive:x.tar";
  image.source = "docker-archive";
  image.location = tmp / "x.tar";
  image.tag = "docker.io/library/x:latest";
  image.config_digest = kConfigA;
  image.chain_id = kChain;
  image.created = "2026-01-01T00:00:00Z";
  ImageLayer in_cache, outside;
  in_cache.path = images + "/blobs/sha256/" + std::string(64, '1');
  outside.path = tmp / "layout/blobs/sha256/" + std::string(64, '2');
  image.layers = {in_cache, outside};
  CatalogRecord r = catalog_record(image, images + "/rootfs/x.squashfs", images, 86400 * 365);
  EXPECT_EQ(r.reference, image.reference);
  EXPECT_EQ(r.source, image.source);
  EXPECT_EQ(r.location, image.location);
  EXPECT_EQ(r.tag, image.tag);
  EXPECT_EQ(r.config_digest, kConfigA);
  EXPECT_EQ(r.chain_id, kChain);
  EXPECT_EQ(r.rootfs, images + "/rootfs/x.squashfs");
  EXPECT_EQ(r.blobs, std::vector<std::string>{in_cache.path});
  EXPECT_EQ(r.created, image.created);
  EXPECT_EQ(r.last_used, "1971-01-01T00:00:00Z");

  // An archive's config and manifest, when the store has them, are its blobs too.
  image.manifest_digest = "sha256:" + std::string(64, 'd');
  std::string config = aged_file(images + "/blobs/sha256", kConfigA.substr(7), 0);
  EXPECT_EQ(catalog_record(image, "", images, 0).blobs,
            (std::vector<std::string>{in_cache.path, config}));
  std::string manifest = aged_file(images + "/blobs/sha256", std::string(64, 'd'), 0);
  EXPECT_EQ(catalog_record(image, "", images, 0).blobs,
            (std::vector<std::string>{in_cache.path, config, manifest}));
  // A layout's are its own files, even when the store has the same.
  image.source = "oci-layout";
  EXPECT_EQ(catalog_record(image, "", images, 0).blobs, std::vector<std::string>{in_cache.path});
}

TEST(Catalog, UnreferencedListsOrphansAndStaleTemporaries) {
  TempDir tmp;
  std::string images = tmp / "images";
  std::string rootfs = images + "/rootfs", blobs = images + "/blobs/sha256";
  Catalog catalog(images);
  CatalogRecord used = record(images, "/l/used", "", kConfigA, "2026-02-01T10:00:00Z");
  time_t hour = 3600;
  // The files of the record kept: its root filesystem, its record and lock, its blob.
  aged_file(rootfs, base_name(used.rootfs), 2 * hour);
  aged_file(rootfs, base_name(used.rootfs) + ".ok", 2 * hour);
  aged_file(rootfs, base_name(used.rootfs) + ".lock", 2 * hour);
  used.blobs = {aged_file(blobs, std::string(64, '1'), 2 * hour)};
  catalog.put(used);
  std::vector<std::string> want;
  // A root filesystem no record refers to, with its side files; a blob nothing uses.
  std::string orphan = rootfs + "/" + std::string(64, 'e') + ".v1.squashfs";
  want.push_back(aged_file(rootfs, base_name(orphan), 2 * hour));
  want.push_back(aged_file(rootfs, base_name(orphan) + ".ok", 2 * hour));
  want.push_back(aged_file(rootfs, base_name(orphan) + ".lock", 3 * hour));
  want.push_back(aged_file(blobs, std::string(64, '2'), 2 * hour));
  // The lock a failed conversion left.
  want.push_back(aged_file(rootfs, std::string(64, '9') + ".v1-lz4.squashfs.lock", 2 * hour));
  // Temporaries older than an hour: a conversion's, a blob import's, a record's.
  want.push_back(aged_file(rootfs, "." + base_name(orphan) + ".tmp.123", 2 * hour));
  want.push_back(aged_file(rootfs, "." + base_name(orphan) + ".tmp.123.ok", 2 * hour));
  want.push_back(aged_file(rootfs, "." + base_name(used.rootfs) + ".tmp.124", 2 * hour));
  want.push_back(aged_file(blobs, ".tmp-abcdef", 2 * hour));
  want.push_back(aged_file(images + "/catalog", "x.json.tmp-77", 2 * hour));
  // Fresh temporaries: a run may be writing them.
  aged_file(rootfs, "." + base_name(orphan) + ".tmp.125", 60);
  aged_file(blobs, ".tmp-ghijkl", 60);
  aged_file(images + "/catalog", "y.json.tmp-78", 60);
  // What a run in progress has written before its record: a root filesystem just renamed into
  // place (beside an old lock), a blob just imported.
  std::string fresh = rootfs + "/" + std::string(64, 'f') + ".v1.squashfs";
  std::vector<std::string> fresh_files = {aged_file(rootfs, base_name(fresh), 10),
                                          aged_file(rootfs, base_name(fresh) + ".ok", 10),
                                          aged_file(rootfs, base_name(fresh) + ".lock", 2 * hour),
                                          aged_file(blobs, std::string(64, '3'), 10)};
  // Registry tag records: one naming the kept record's blob stays, one naming a blob nothing
  // uses goes, as does an unreadable one and a stale lock of a killed pull; a fresh lock stays.
  std::string tags = images + "/tags/reg.example:5000/team/app";
  make_dirs(tags);
  auto tag_record = [&](const std::string& name, const std::string& digest_hex, time_t age) {
    std::string path = aged_file(tags, name, age);
    write_file(path, R"({"digest":"sha256:)" + digest_hex + R"(","size":1,"mediaType":""})");
    time_t then = ::time(nullptr) - age;
    struct utimbuf times = {then, then};
    ::utime(path.c_str(), &times);
    return path;
  };
  tag_record("kept.json", std::string(64, '1'), 2 * hour);
  want.push_back(tag_record("orphan.json", std::string(64, '2'), 2 * hour));
  want.push_back(aged_file(tags, "broken.json", 2 * hour));
  want.push_back(
      aged_file(images + "/locks", "sha256-" + std::string(64, '5') + ".lock", 2 * hour));
  aged_file(images + "/locks", "sha256-" + std::string(64, '6') + ".lock", 60);
  // Not files: left alone.
  make_dirs(rootfs + "/a-directory");
  make_dirs(blobs + "/" + std::string(64, '4'));

  EXPECT_EQ(sorted(catalog.unreferenced({used})), sorted(want));

  // A record just dropped takes its fresh files with it.
  CatalogRecord dropped = record(images, "/l/gone", "", kConfigB, "2026-02-01T10:00:00Z");
  dropped.rootfs = fresh;
  dropped.blobs = {fresh_files[3]};
  std::vector<std::string> with_dropped = want;
  with_dropped.insert(with_dropped.end(), fresh_files.begin(), fresh_files.end());
  EXPECT_EQ(sorted(catalog.unreferenced({used}, {dropped})), sorted(with_dropped));
  // As does no grace at all (prune --all); fresh temporaries stay even then.
  EXPECT_EQ(sorted(catalog.unreferenced({used}, {}, 0)), sorted(with_dropped));

  // With nothing kept, the used record's files are orphans too (the record itself is not a
  // file prune removes: it removes records first).
  std::vector<std::string> all = want;
  for (const auto& name : {"", ".ok", ".lock"}) all.push_back(used.rootfs + name);
  all.push_back(used.blobs[0]);
  all.push_back(tags + "/kept.json");
  EXPECT_EQ(sorted(catalog.unreferenced({})), sorted(all));
  // A record in both lists is kept.
  EXPECT_EQ(sorted(catalog.unreferenced({used}, {used})), sorted(want));
}

TEST(Catalog, UnreferencedOfAnEmptyOrMissingCache) {
  TempDir tmp;
  EXPECT_TRUE(Catalog(tmp / "images").unreferenced({}).empty());
  make_dirs(tmp / "images/rootfs");
  make_dirs(tmp / "images/blobs/sha256");
  EXPECT_TRUE(Catalog(tmp / "images").unreferenced({}).empty());
}

TEST(Catalog, PutFailsWithAnErrorWhenTheCatalogCannotBeWritten) {
  TempDir tmp;
  tmp.write("images", "a file where the directory would be");
  Catalog catalog(tmp / "images");
  EXPECT_THROW(catalog.put(record(tmp / "images", "/l/a", "", kConfigA, "2026-01-01T00:00:00Z")),
               Error);
}

}  // namespace
}  // namespace execvm
