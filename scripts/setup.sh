#!/usr/bin/env bash
# Sets execvm up on a Debian 12 machine (packages, build, guest kernel), each step only when it
# is needed, then does one of:
#
#   scripts/setup.sh run [COMMAND [ARG...]]   run COMMAND in a VM on this host's root (default: uname -a)
#   scripts/setup.sh test                      run the whole test suite
#   scripts/setup.sh bench                     run the benchmarks in bench/
#   scripts/setup.sh                           only set up
#
# Environment: BUILD_DIR (default build), JOBS (default: the number of CPUs).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

say() { echo "setup: $*" >&2; }

packages=(
  # the build
  g++ make cmake ninja-build pkg-config
  libarchive-dev libssl-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev
  # images: the layer formats, the filesystem writer, the guest's seccomp filter
  libsquashfs-dev libzstd-dev libseccomp-dev libext2fs-dev libisal-dev zstd
  # registry pulls
  libcurl4-openssl-dev
  # running VMs
  qemu-system-x86
  # the guest kernel: its source and what building it needs
  linux-source-6.12 bc flex bison libelf-dev lz4 xz-utils perl
  # tests and benchmarks
  python3 cpio procps util-linux hyperfine time git
  # the registry tests: a local registry, its htpasswd users, certificates, requests
  docker-registry apache2-utils openssl curl
  # images and disks the tests build, and the tools they compare with
  busybox-static e2fsprogs squashfs-tools squashfs-tools-ng erofs-utils skopeo umoci debootstrap
  # toolchains that the tests run under execvm (go test -exec, cargo's runner)
  golang-go cargo rustc
  # pipelines: the container runner and Build (podman with runc), the Python module and its tests
  podman runc python3-dev python3-pybind11 python3-pytest
  # the seed's initrd pipeline (bsdtar in its containers)
  libarchive-tools
)

install_packages() {
  local missing=()
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    say "configuring $BUILD_DIR"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$BUILD_DIR" -j "$JOBS" >&2
}

python_module() {
  # The Python module, where Debian's python3 finds it (/usr/local/lib/python3.X/dist-packages).
  [ -d "$BUILD_DIR/python/execvm" ] || return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" cmake --install "$BUILD_DIR" --component python > /dev/null
}

guest_kernel() {
  # Builds execvm's kernel once per machine (about 10 minutes on 2 cores); at once when cached.
  "$BUILD_DIR/execvm" kernel build > /dev/null
}

install_packages
build
python_module
guest_kernel

case "${1:-}" in
  "") ;;
  run)
    shift
    [ $# -gt 0 ] || set -- uname -a
    exec "$BUILD_DIR/execvm" -- "$@"
    ;;
  test)
    exec ctest --test-dir "$BUILD_DIR" -j 2 --output-on-failure
    ;;
  bench)
    exec bash bench/run.sh "$BUILD_DIR/execvm"
    ;;
  *)
    echo "usage: scripts/setup.sh [run [COMMAND...] | test | bench]" >&2
    exit 2
    ;;
esac
