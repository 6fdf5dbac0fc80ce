// The version of the steps that build execvm's kernel (kernel_build.cc). It is part of the
// kernel's config hash, so a changed recipe gives a new cache entry: bump it whenever the steps
// change in a way that changes the kernel.
#pragma once

namespace execvm {

inline constexpr const char* kKernelRecipe =
    "execvm-kernel-recipe-1: make ARCH=x86_64 tinyconfig; merge_config.sh -m .config FRAGMENT; "
    "make ARCH=x86_64 olddefconfig; make ARCH=x86_64 bzImage";

}  // namespace execvm
