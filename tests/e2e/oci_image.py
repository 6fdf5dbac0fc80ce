#!/usr/bin/env python3
"""Builds OCI images for the tests, by hand (tar + sha256 + JSON), as any image tool reads them.

  oci_image.py LAYOUT --tag TAG [--layer busybox|DIR|TAR]... [--config JSON] [--compress C]

writes (or adds to) the OCI image layout directory LAYOUT an image tagged TAG whose layers are,
bottom first: `busybox` (the host's static busybox as /bin/busybox with its applets linked,
/etc/passwd and /etc/group with root and an `app` user, /tmp, /root), a host directory DIR (its
tree as root:root files), or a ready TAR file (kept exactly: whiteouts, hardlinks, devices,
xattrs). CONFIG is the image config's "config" object (Env, Cmd, Entrypoint, WorkingDir, User,
...). C: gzip (default), zstd or none. Imported by other test scripts for its functions too.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\nwheel:x:10:app\napp:x:1000:\n"

LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def add_file(tar, name, data, mode=0o644, uid=0, gid=0, mtime=1700000000):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name, mode=0o755, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = 1700000000
    tar.addfile(info)


def add_symlink(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    info.mtime = 1700000000
    tar.addfile(info)


def busybox_layer():
    """The bytes of a plain tar: a busybox userland."""
    out = io.BytesIO()
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "root", "home", "home/app"):
            add_dir(tar, d)
        add_dir(tar, "tmp", 0o1777)
        with open(BUSYBOX, "rb") as f:
            add_file(tar, "bin/busybox", f.read(), 0o755)
        for applet in applets:
            if applet != "busybox":
                add_symlink(tar, "bin/" + applet, "busybox")
        add_file(tar, "etc/passwd", PASSWD.encode())
        add_file(tar, "etc/group", GROUP.encode())
    return out.getvalue()


def dir_layer(path):
    out = io.BytesIO()

    def as_root(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(path)):
            tar.add(os.path.join(path, entry), arcname=entry, filter=as_root)
    return out.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def write_image(layout, tag, layers, config=None, how="gzip", platform=("linux", "amd64")):
    """Adds an image of LAYERS (plain tar bytes, bottom first) to LAYOUT, tagged TAG. Returns
    the manifest's descriptor."""
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descriptors, diff_ids = [], []
    for layer in layers:
        blob = compress(layer, how)
        descriptors.append({"mediaType": LAYER_TYPES[how], "digest": put_blob(layout, blob),
                            "size": len(blob)})
        diff_ids.append("sha256:" + hashlib.sha256(layer).hexdigest())
    image_config = {
        "created": "2026-01-01T00:00:00Z",
        "architecture": platform[1],
        "os": platform[0],
        "config": config or {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_blob = json.dumps(image_config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put_blob(layout, config_blob), "size": len(config_blob)},
        "layers": descriptors,
    }
    manifest_blob = json.dumps(manifest).encode()
    descriptor = {
        "mediaType": manifest["mediaType"],
        "digest": put_blob(layout, manifest_blob),
        "size": len(manifest_blob),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    index_path = os.path.join(layout, "index.json")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(descriptor)
    with open(index_path, "w") as f:
        json.dump(index, f)
    return descriptor


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layout")
    parser.add_argument("--tag", default="latest")
    parser.add_argument("--layer", action="append", default=[])
    parser.add_argument("--config", default="{}")
    parser.add_argument("--compress", default="gzip", choices=sorted(LAYER_TYPES))
    args = parser.parse_args()
    layers = []
    for spec in args.layer or ["busybox"]:
        if spec == "busybox":
            layers.append(busybox_layer())
        elif os.path.isdir(spec):
            layers.append(dir_layer(spec))
        else:
            with open(spec, "rb") as f:
                layers.append(f.read())
    write_image(args.layout, args.tag, layers, json.loads(args.config), args.compress)


if __name__ == "__main__":
    sys.exit(main())
