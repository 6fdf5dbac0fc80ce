// SquashfsWriter: a squashfs image written with libsquashfs (squashfs-tools-ng's library):
// file data streamed in as it arrives, then the tree of entries that the flattener built in
// memory. FsNode and FsInode are that tree: what the writer takes.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct sqfs_inode_generic_t;

namespace execvm {

// One inode: a file, directory, symlink, device or fifo, shared by the hardlinks to it.
struct FsInode {
  static constexpr uint32_t kNoData = UINT32_MAX;
  uint32_t mode = 0;  // S_IFMT type and the 07777 bits
  uint32_t uid = 0, gid = 0;
  uint32_t mtime = 0;
  uint32_t rdev = 0;   // of a device, as the kernel's new_encode_dev() packs it
  std::string target;  // of a symlink
  std::vector<std::pair<std::string, std::string>> xattrs;
  uint32_t data = kNoData;  // of a regular file: its handle from SquashfsWriter::end_file()
  // The writer's own bookkeeping.
  uint32_t number = 0;
  uint32_t nlink = 0;
  uint64_t ref = 0;
  bool written = false;
};

// One name in a directory. Directories own their children, sorted by name (bytewise, as
// squashfs wants them).
struct FsNode {
  std::shared_ptr<FsInode> inode;
  FsNode* parent = nullptr;
  std::map<std::string, std::unique_ptr<FsNode>> children;
  uint32_t layer = 0;  // the flattener's: which layer last wrote this entry
  bool is_dir() const { return (inode->mode & S_IFMT) == S_IFDIR; }
};

class SquashfsWriter {
 public:
  enum class Compression {
    kNone,  // data, metadata and tables stored as they are: read by a guest without decompressing
    kLz4,
    kZstd,
  };
  struct Options {
    Compression compression = Compression::kNone;
    uint32_t block_size = 128 << 10;
    unsigned workers = 0;  // threads of libsquashfs's block processor; 0: one per usable CPU
  };

  // Creates PATH (which must not exist). Throws Error.
  SquashfsWriter(const std::string& path, const Options& options);
  ~SquashfsWriter();
  SquashfsWriter(const SquashfsWriter&) = delete;
  SquashfsWriter& operator=(const SquashfsWriter&) = delete;

  // A regular file's data: begin_file(), append() as it streams in, end_file(), which returns
  // the handle to put in FsInode::data. Identical files and blocks are stored once; zero blocks
  // are stored as holes.
  void begin_file();
  void append(std::string_view data);
  uint32_t end_file();

  // Bytes of the image file so far.
  uint64_t bytes_written() const;

  // Writes ROOT's tree (inodes, directories, the id, xattr and fragment tables) and the
  // superblock, pads the image to 4 KiB and returns its size. Throws Error.
  uint64_t finish(FsNode& root);

 private:
  struct Parts;
  void check(int sqfs_error, const char* doing) const;
  void number_inodes(FsNode& dir, uint32_t& next);
  void count_links(FsNode& dir);
  void write_inode(FsInode& inode, sqfs_inode_generic_t* generic);
  void write_dir(FsNode& dir);

  std::string path_;
  Options options_;
  std::unique_ptr<Parts> parts_;
  // Regular files' inodes, filled in by the block processor through these stable slots.
  std::deque<sqfs_inode_generic_t*> files_;
  bool in_file_ = false;
};

}  // namespace execvm
