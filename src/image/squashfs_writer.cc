#include "image/squashfs_writer.h"

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_writer.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "util/error.h"
#include "util/sys.h"

namespace execvm {
namespace {

constexpr uint32_t kDeviceBlock = 4096;

// A compressor that never compresses: libsquashfs then stores every metadata block and table
// as it is (the "uncompressed" bit of each block's header set), as `mksquashfs -noI -noD -noF
// -noX` would. The superblock names gzip, which every squashfs kernel reads, and records no
// options.
struct NullCompressor {
  sqfs_compressor_t base;
  uint32_t block_size;

  static sqfs_compressor_t* create(uint32_t block_size) {
    auto* c = static_cast<NullCompressor*>(std::calloc(1, sizeof(NullCompressor)));
    if (!c) return nullptr;
    c->block_size = block_size;
    c->base.base.destroy = [](sqfs_object_t* self) { std::free(self); };
    c->base.base.copy = [](const sqfs_object_t* self) -> sqfs_object_t* {
      auto* copy = static_cast<NullCompressor*>(std::malloc(sizeof(NullCompressor)));
      if (copy) std::memcpy(copy, self, sizeof(NullCompressor));
      return reinterpret_cast<sqfs_object_t*>(copy);
    };
    c->base.get_configuration = [](const sqfs_compressor_t* self, sqfs_compressor_config_t* cfg) {
      sqfs_compressor_config_init(cfg, SQFS_COMP_GZIP,
                                  reinterpret_cast<const NullCompressor*>(self)->block_size, 0);
    };
    c->base.write_options = [](sqfs_compressor_t*, sqfs_file_t*) { return 0; };
    c->base.read_options = [](sqfs_compressor_t*, sqfs_file_t*) { return 0; };
    c->base.do_block = [](sqfs_compressor_t*, const sqfs_u8*, sqfs_u32, sqfs_u8*,
                          sqfs_u32) -> sqfs_s32 { return 0; };  // 0: store it uncompressed
    return &c->base;
  }
};

// libsquashfs's block writer, with its deduplication done by a hash table. The library's own
// compares each file with every block written before it, which is quadratic in the number of
// files once small files are not packed into fragments (as in the uncompressed format); this one
// looks the file up by the hash of its blocks' checksums and sizes, then compares the bytes.
struct HashedBlockWriter {
  sqfs_block_writer_t base;
  sqfs_file_t* file = nullptr;
  uint64_t blocks = 0;
  uint64_t file_start = 0;  // where the current file's blocks begin
  bool in_file = false, interleaved = false;
  std::vector<uint64_t> file_blocks;  // (size << 32 | checksum) of each
  struct Run {
    uint64_t offset;
    std::vector<uint64_t> blocks;
  };
  std::unordered_multimap<uint64_t, Run> runs;
  std::vector<char> scratch_a = std::vector<char>(64 << 10), scratch_b = scratch_a;

  static sqfs_block_writer_t* create(sqfs_file_t* file) {
    auto* w = new (std::nothrow) HashedBlockWriter;
    if (!w) return nullptr;
    std::memset(&w->base, 0, sizeof w->base);
    w->file = file;
    w->base.base.destroy = [](sqfs_object_t* self) {
      delete reinterpret_cast<HashedBlockWriter*>(self);
    };
    w->base.write_data_block = [](sqfs_block_writer_t* self, void*, sqfs_u32 size,
                                  sqfs_u32 checksum, sqfs_u32 flags, const sqfs_u8* data,
                                  sqfs_u64* location) {
      return reinterpret_cast<HashedBlockWriter*>(self)->write(size, checksum, flags, data,
                                                               location);
    };
    w->base.get_block_count = [](const sqfs_block_writer_t* self) -> sqfs_u64 {
      return reinterpret_cast<const HashedBlockWriter*>(self)->blocks;
    };
    return &w->base;
  }

  int write(uint32_t size, uint32_t checksum, uint32_t flags, const sqfs_u8* data,
            sqfs_u64* location) {
    if (flags & SQFS_BLK_ALIGN) return SQFS_ERROR_UNSUPPORTED;
    if (flags & SQFS_BLK_FIRST_BLOCK) {
      file_start = file->get_size(file);
      file_blocks.clear();
      in_file = true;
      interleaved = false;
    }
    // A fragment block amid a file's blocks would be dropped with a duplicate file.
    if ((flags & SQFS_BLK_FRAGMENT_BLOCK) && in_file) interleaved = true;
    *location = file->get_size(file);
    if (size != 0 && !(flags & SQFS_BLK_IS_SPARSE)) {
      uint32_t stored = size | ((flags & SQFS_BLK_IS_COMPRESSED) ? 0 : 1U << 24);
      if (int err = file->write_at(file, *location, data, size)) return err;
      ++blocks;
      if (!(flags & SQFS_BLK_FRAGMENT_BLOCK)) {
        file_blocks.push_back(static_cast<uint64_t>(stored) << 32 | checksum);
      }
    }
    if (flags & SQFS_BLK_LAST_BLOCK) return end_file(flags, location);
    return 0;
  }

  // The file's blocks are written: points LOCATION at an identical earlier copy, if any, and
  // drops this one.
  int end_file(uint32_t flags, sqfs_u64* location) {
    in_file = false;
    if (file_blocks.empty()) {
      *location = 0;
      return 0;
    }
    *location = file_start;
    if ((flags & SQFS_BLK_DONT_DEDUPLICATE) || interleaved) return 0;
    uint64_t key = 1469598103934665603ULL, bytes = 0;
    for (uint64_t b : file_blocks) {
      key = (key ^ b) * 1099511628211ULL;
      bytes += (b >> 32) & ((1U << 24) - 1);
    }
    auto [first, last] = runs.equal_range(key);
    for (auto it = first; it != last; ++it) {
      if (it->second.blocks != file_blocks) continue;
      int same = same_bytes(it->second.offset, file_start, bytes);
      if (same < 0) return same;
      if (same) {
        *location = it->second.offset;
        blocks -= file_blocks.size();
        return file->truncate(file, file_start);
      }
    }
    runs.emplace(key, Run{file_start, file_blocks});
    return 0;
  }

  // 1 when the SIZE bytes at A and B are the same, 0 when not, or a libsquashfs error.
  int same_bytes(uint64_t a, uint64_t b, uint64_t size) {
    while (size > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size, scratch_a.size()));
      if (int err = file->read_at(file, a, scratch_a.data(), n)) return err;
      if (int err = file->read_at(file, b, scratch_b.data(), n)) return err;
      if (std::memcmp(scratch_a.data(), scratch_b.data(), n) != 0) return 0;
      a += n;
      b += n;
      size -= n;
    }
    return 1;
  }
};

const char* sqfs_error_name(int err) {
  switch (err) {
    case SQFS_ERROR_ALLOC:
      return "out of memory";
    case SQFS_ERROR_IO:
      return "input/output error";
    case SQFS_ERROR_COMPRESSOR:
      return "compressor error";
    case SQFS_ERROR_OVERFLOW:
      return "too large for squashfs";
    case SQFS_ERROR_OUT_OF_BOUNDS:
      return "out of bounds";
    case SQFS_ERROR_UNSUPPORTED:
      return "not supported";
    case SQFS_ERROR_ARG_INVALID:
      return "invalid argument";
  }
  return "internal error";
}

template <typename T>
void destroy(T*& object) {
  if (object) sqfs_destroy(object);
  object = nullptr;
}

}  // namespace

// libsquashfs's objects that make one image.
struct SquashfsWriter::Parts {
  sqfs_file_t* file = nullptr;
  sqfs_compressor_t* cmp = nullptr;
  sqfs_compressor_t* uncmp = nullptr;
  sqfs_block_writer_t* blocks = nullptr;
  sqfs_frag_table_t* fragments = nullptr;
  sqfs_block_processor_t* processor = nullptr;
  sqfs_id_table_t* ids = nullptr;
  sqfs_xattr_writer_t* xattrs = nullptr;
  sqfs_meta_writer_t* inodes = nullptr;
  sqfs_meta_writer_t* dirs = nullptr;
  sqfs_dir_writer_t* dir_writer = nullptr;
  sqfs_super_t super{};
  uint32_t file_flags = 0;
  uint32_t inode_count = 0;

  ~Parts() {
    // Users before what they use.
    destroy(dir_writer);
    destroy(dirs);
    destroy(inodes);
    destroy(xattrs);
    destroy(ids);
    destroy(processor);
    destroy(fragments);
    destroy(blocks);
    destroy(uncmp);
    destroy(cmp);
    destroy(file);
  }
};

void SquashfsWriter::check(int err, const char* doing) const {
  if (err == 0) return;
  std::string why = sqfs_error_name(err);
  if (err == SQFS_ERROR_IO && errno != 0) why = std::strerror(errno);
  throw Error("cannot write the squashfs image " + path_ + " (" + doing + ": " + why + ")");
}

SquashfsWriter::SquashfsWriter(const std::string& path, const Options& options)
    : path_(path), options_(options), parts_(std::make_unique<Parts>()) {
  Parts& p = *parts_;
  uint32_t block = options.block_size;
  p.file = sqfs_open_file(path.c_str(), 0);  // O_CREAT | O_EXCL
  if (!p.file) throw_errno("cannot create " + path);

  SQFS_COMPRESSOR id = SQFS_COMP_GZIP;
  if (options.compression == Compression::kNone) {
    p.cmp = NullCompressor::create(block);
    if (!p.cmp) check(SQFS_ERROR_ALLOC, "creating the compressor");
    p.file_flags = SQFS_BLK_DONT_COMPRESS | SQFS_BLK_DONT_FRAGMENT;
  } else {
    id = options.compression == Compression::kLz4 ? SQFS_COMP_LZ4 : SQFS_COMP_ZSTD;
    sqfs_compressor_config_t cfg;
    check(sqfs_compressor_config_init(&cfg, id, block, 0), "configuring the compressor");
    if (id == SQFS_COMP_ZSTD) cfg.level = 3;
    check(sqfs_compressor_create(&cfg, &p.cmp), "creating the compressor");
    cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
    check(sqfs_compressor_create(&cfg, &p.uncmp), "creating the decompressor");
  }

  check(sqfs_super_init(&p.super, block, 0, id), "initializing the superblock");
  check(sqfs_super_write(&p.super, p.file), "writing the superblock");
  int options_written = p.cmp->write_options(p.cmp, p.file);
  if (options_written < 0) check(options_written, "writing the compressor options");
  if (options_written > 0) p.super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;
  if (options.compression == Compression::kNone) {
    p.super.flags |= SQFS_FLAG_UNCOMPRESSED_INODES | SQFS_FLAG_UNCOMPRESSED_DATA |
                     SQFS_FLAG_UNCOMPRESSED_FRAGMENTS | SQFS_FLAG_UNCOMPRESSED_IDS |
                     SQFS_FLAG_UNCOMPRESSED_XATTRS | SQFS_FLAG_NO_FRAGMENTS;
  }

  p.blocks = HashedBlockWriter::create(p.file);
  p.fragments = sqfs_frag_table_create(0);
  if (!p.blocks || !p.fragments) check(SQFS_ERROR_ALLOC, "creating the block writer");

  sqfs_block_processor_desc_t desc{};
  desc.size = sizeof desc;
  desc.max_block_size = block;
  desc.num_workers = options.workers ? options.workers : usable_cpus();
  desc.max_backlog = 10 * desc.num_workers;
  desc.cmp = p.cmp;
  desc.wr = p.blocks;
  desc.tbl = p.fragments;
  if (p.uncmp) {
    desc.file = p.file;  // to compare fragments that hash the same
    desc.uncmp = p.uncmp;
  }
  check(sqfs_block_processor_create_ex(&desc, &p.processor), "creating the block processor");

  p.ids = sqfs_id_table_create(0);
  p.xattrs = sqfs_xattr_writer_create(0);
  p.inodes = sqfs_meta_writer_create(p.file, p.cmp, 0);
  p.dirs = sqfs_meta_writer_create(p.file, p.cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
  if (!p.ids || !p.xattrs || !p.inodes || !p.dirs) check(SQFS_ERROR_ALLOC, "creating the tables");
  p.dir_writer = sqfs_dir_writer_create(p.dirs, 0);
  if (!p.dir_writer) check(SQFS_ERROR_ALLOC, "creating the directory writer");
}

SquashfsWriter::~SquashfsWriter() {
  parts_.reset();  // the block processor first: its threads write through files_
  for (sqfs_inode_generic_t* inode : files_) sqfs_free(inode);
}

void SquashfsWriter::begin_file() {
  files_.push_back(nullptr);
  in_file_ = true;
  check(sqfs_block_processor_begin_file(parts_->processor, &files_.back(), nullptr,
                                        parts_->file_flags),
        "starting a file");
}

void SquashfsWriter::append(std::string_view data) {
  if (!data.empty()) {
    check(sqfs_block_processor_append(parts_->processor, data.data(), data.size()),
          "writing file data");
  }
}

uint32_t SquashfsWriter::end_file() {
  in_file_ = false;
  check(sqfs_block_processor_end_file(parts_->processor), "ending a file");
  return static_cast<uint32_t>(files_.size() - 1);
}

uint64_t SquashfsWriter::bytes_written() const {
  return parts_->file->get_size(parts_->file);
}

void SquashfsWriter::count_links(FsNode& dir) {
  uint32_t subdirs = 0;
  for (auto& [name, child] : dir.children) {
    if (child->is_dir()) {
      ++subdirs;
      count_links(*child);
    } else {
      child->inode->nlink++;
    }
  }
  dir.inode->nlink = 2 + subdirs;
}

// Inode numbers in the order the inodes are written: a directory's subdirectories, then its
// other entries, then the directory itself (its entries' inodes must be written before it, as
// they are referred to from its listing). The root comes last.
void SquashfsWriter::number_inodes(FsNode& dir, uint32_t& next) {
  for (auto& [name, child] : dir.children) {
    if (child->is_dir()) number_inodes(*child, next);
  }
  for (auto& [name, child] : dir.children) {
    if (!child->is_dir() && child->inode->number == 0) child->inode->number = next++;
  }
  dir.inode->number = next++;
}

void SquashfsWriter::write_inode(FsInode& inode, sqfs_inode_generic_t* g) {
  Parts& p = *parts_;
  std::unique_ptr<sqfs_inode_generic_t, decltype(&sqfs_free)> owned(nullptr, sqfs_free);
  switch (inode.mode & S_IFMT) {
    case S_IFREG:
      if (inode.data == FsInode::kNoData || inode.data >= files_.size() || !files_[inode.data]) {
        check(SQFS_ERROR_INTERNAL, "writing a file without data");
      }
      g = files_[inode.data];
      files_[inode.data] = nullptr;
      owned.reset(g);
      break;
    case S_IFDIR:
      owned.reset(g);  // made by the directory writer
      break;
    default: {
      size_t extra = (inode.mode & S_IFMT) == S_IFLNK ? inode.target.size() : 0;
      g = static_cast<sqfs_inode_generic_t*>(std::calloc(1, sizeof(*g) + extra));
      if (!g) check(SQFS_ERROR_ALLOC, "making an inode");
      owned.reset(g);
      switch (inode.mode & S_IFMT) {
        case S_IFLNK:
          g->base.type = SQFS_INODE_SLINK;
          g->data.slink.nlink = inode.nlink;
          g->data.slink.target_size = static_cast<sqfs_u32>(extra);
          g->payload_bytes_available = g->payload_bytes_used = static_cast<sqfs_u32>(extra);
          std::memcpy(g->extra, inode.target.data(), extra);
          break;
        case S_IFCHR:
        case S_IFBLK:
          g->base.type = (inode.mode & S_IFMT) == S_IFCHR ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
          g->data.dev.nlink = inode.nlink;
          g->data.dev.devno = inode.rdev;
          break;
        case S_IFIFO:
          g->base.type = SQFS_INODE_FIFO;
          g->data.ipc.nlink = inode.nlink;
          break;
        case S_IFSOCK:
          g->base.type = SQFS_INODE_SOCKET;
          g->data.ipc.nlink = inode.nlink;
          break;
        default:
          check(SQFS_ERROR_UNSUPPORTED, "writing an inode of unknown type");
      }
    }
  }

  g->base.mode = static_cast<sqfs_u16>(inode.mode);
  g->base.mod_time = inode.mtime;
  g->base.inode_number = inode.number;
  check(sqfs_id_table_id_to_index(p.ids, inode.uid, &g->base.uid_idx), "recording a uid");
  check(sqfs_id_table_id_to_index(p.ids, inode.gid, &g->base.gid_idx), "recording a gid");
  if (!inode.xattrs.empty()) {
    check(sqfs_xattr_writer_begin(p.xattrs, 0), "starting xattrs");
    for (const auto& [key, value] : inode.xattrs) {
      if (sqfs_get_xattr_prefix_id(key.c_str()) < 0) {
        check(SQFS_ERROR_UNSUPPORTED, "recording an xattr of a prefix squashfs lacks");
      }
      check(sqfs_xattr_writer_add(p.xattrs, key.c_str(), value.data(), value.size()),
            "recording an xattr");
    }
    sqfs_u32 index = 0;
    check(sqfs_xattr_writer_end(p.xattrs, &index), "ending xattrs");
    check(sqfs_inode_set_xattr_index(g, index), "setting the xattrs");
  }
  if (g->base.type == SQFS_INODE_FILE && inode.nlink > 1) {
    check(sqfs_inode_make_extended(g), "extending an inode");
  }
  if (g->base.type == SQFS_INODE_EXT_FILE) g->data.file_ext.nlink = inode.nlink;
  if (g->base.type == SQFS_INODE_DIR) g->data.dir.nlink = inode.nlink;
  if (g->base.type == SQFS_INODE_EXT_DIR) g->data.dir_ext.nlink = inode.nlink;

  sqfs_u64 block = 0;
  sqfs_u32 offset = 0;
  sqfs_meta_writer_get_position(p.inodes, &block, &offset);
  inode.ref = block << 16 | offset;
  check(sqfs_meta_writer_write_inode(p.inodes, g), "writing an inode");
  inode.written = true;
  p.inode_count++;
}

void SquashfsWriter::write_dir(FsNode& dir) {
  Parts& p = *parts_;
  for (auto& [name, child] : dir.children) {
    if (child->is_dir()) write_dir(*child);
  }
  for (auto& [name, child] : dir.children) {
    if (!child->is_dir() && !child->inode->written) write_inode(*child->inode, nullptr);
  }
  check(sqfs_dir_writer_begin(p.dir_writer, 0), "starting a directory");
  for (auto& [name, child] : dir.children) {
    const FsInode& inode = *child->inode;
    check(sqfs_dir_writer_add_entry(p.dir_writer, name.c_str(), inode.number, inode.ref,
                                    static_cast<sqfs_u16>(inode.mode)),
          "adding a directory entry");
  }
  check(sqfs_dir_writer_end(p.dir_writer), "ending a directory");
  uint32_t parent = dir.parent ? dir.parent->inode->number : dir.inode->number;
  sqfs_inode_generic_t* g =
      sqfs_dir_writer_create_inode(p.dir_writer, dir.inode->nlink, 0xFFFFFFFF, parent);
  if (!g) check(SQFS_ERROR_ALLOC, "making a directory inode");
  write_inode(*dir.inode, g);
}

uint64_t SquashfsWriter::finish(FsNode& root) {
  Parts& p = *parts_;
  if (in_file_) check(SQFS_ERROR_SEQUENCE, "finishing inside a file");
  check(sqfs_block_processor_finish(p.processor), "writing the last data blocks");

  count_links(root);
  uint32_t next = 1;
  number_inodes(root, next);

  p.super.inode_table_start = p.file->get_size(p.file);
  write_dir(root);
  check(sqfs_meta_writer_flush(p.inodes), "writing the inode table");
  check(sqfs_meta_writer_flush(p.dirs), "writing the directory table");
  p.super.root_inode_ref = root.inode->ref;
  p.super.directory_table_start = p.file->get_size(p.file);
  check(sqfs_meta_write_write_to_file(p.dirs), "writing the directory table");
  p.super.inode_count = p.inode_count;

  check(sqfs_frag_table_write(p.fragments, p.file, &p.super, p.cmp), "writing the fragment table");
  check(sqfs_id_table_write(p.ids, p.file, &p.super, p.cmp), "writing the id table");
  check(sqfs_xattr_writer_flush(p.xattrs, p.file, &p.super, p.cmp), "writing the xattr table");

  p.super.bytes_used = p.file->get_size(p.file);
  check(sqfs_super_write(&p.super, p.file), "writing the superblock");
  uint64_t size = p.super.bytes_used;
  if (size % kDeviceBlock) {
    std::string zeros(kDeviceBlock - size % kDeviceBlock, '\0');
    check(p.file->write_at(p.file, size, zeros.data(), zeros.size()), "padding the image");
    size += zeros.size();
  }
  return size;
}

}  // namespace execvm
