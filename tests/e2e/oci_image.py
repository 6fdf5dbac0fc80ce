#!/usr/bin/env python3
"""Builds OCI images for the tests, by hand (tar + sha256 + JSON), as any image tool reads them.

  oci_image.py LAYOUT --tag TAG [--layer busybox|DIR|TAR]... [--config JSON] [--compress C]
               [--platform OS/ARCH[/VARIANT]]
  oci_image.py LAYOUT --tag TAG --index TAG1,TAG2... [--attestation TAGn]...

writes (or adds to) the OCI image layout directory LAYOUT an image tagged TAG whose layers are,
bottom first: `busybox` (the host's static busybox as /bin/busybox with its applets linked,
/etc/passwd and /etc/group with root and an `app` user, /tmp, /root), a host directory DIR (its
tree as root:root files), or a ready TAR file (kept exactly: whiteouts, hardlinks, devices,
xattrs). CONFIG is the image config's "config" object (Env, Cmd, Entrypoint, WorkingDir, User,
...). C: gzip (default), zstd or none. PLATFORM: the config's os, architecture and variant
(default linux/amd64). With --index, TAG is an image index of the images tagged TAG1, TAG2...
(each entry with the platform of its config), and for each --attestation TAGn an attestation
manifest of that image as `docker buildx` writes them (platform unknown/unknown, annotated
vnd.docker.reference.type=attestation-manifest and vnd.docker.reference.digest), after the
images. Imported by other test scripts for its functions too.
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


def start_layout(layout):
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def read_index(layout):
    index_path = os.path.join(layout, "index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            return json.load(f)
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": []}


def tag_descriptor(layout, tag, descriptor):
    """Points TAG in LAYOUT's index.json at DESCRIPTOR (replacing what it named)."""
    descriptor = dict(descriptor, annotations={"org.opencontainers.image.ref.name": tag})
    index = read_index(layout)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(descriptor)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    return descriptor


def tagged(layout, tag):
    """The descriptor that TAG names in LAYOUT."""
    for m in read_index(layout)["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m
    raise SystemExit("oci_image.py: no tag %s in %s" % (tag, layout))


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":")), "rb") as f:
        return f.read()


def write_image(layout, tag, layers, config=None, how="gzip", platform=("linux", "amd64")):
    """Adds an image of LAYERS (plain tar bytes, bottom first) to LAYOUT, tagged TAG, for
    PLATFORM (os, architecture[, variant]). Returns the manifest's descriptor."""
    start_layout(layout)
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
    if len(platform) > 2:
        image_config["variant"] = platform[2]
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
    }
    return tag_descriptor(layout, tag, descriptor)


def attestation_manifest(layout, of):
    """An attestation manifest (an in-toto SPDX statement) about the image manifest OF, as
    buildx writes one, and its index entry."""
    statement = json.dumps({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "image", "digest": {"sha256": of["digest"].split(":")[1]}}],
        "predicate": {"spdxVersion": "SPDX-2.3", "name": "sbom"},
    }).encode()
    layer = {"mediaType": "application/vnd.in-toto+json", "digest": put_blob(layout, statement),
             "size": len(statement),
             "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
    config_blob = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                              "rootfs": {"type": "layers",
                                         "diff_ids": [layer["digest"]]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put_blob(layout, config_blob), "size": len(config_blob)},
        "layers": [layer],
    }).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": put_blob(layout, manifest), "size": len(manifest),
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {"vnd.docker.reference.digest": of["digest"],
                            "vnd.docker.reference.type": "attestation-manifest"}}


def write_index(layout, tag, members, attestations=()):
    """Tags in LAYOUT as TAG an image index of the images tagged MEMBERS (each with its
    config's platform), then an attestation manifest for each image tagged in ATTESTATIONS."""
    entries = []
    for member in members:
        descriptor = tagged(layout, member)
        manifest = json.loads(read_blob(layout, descriptor["digest"]))
        config = json.loads(read_blob(layout, manifest["config"]["digest"]))
        platform = {"architecture": config["architecture"], "os": config["os"]}
        if config.get("variant"):
            platform["variant"] = config["variant"]
        entries.append({"mediaType": descriptor["mediaType"], "digest": descriptor["digest"],
                        "size": descriptor["size"], "platform": platform})
    for member in attestations:
        entries.append(attestation_manifest(layout, tagged(layout, member)))
    index = json.dumps({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    return tag_descriptor(layout, tag, {"mediaType": "application/vnd.oci.image.index.v1+json",
                                        "digest": put_blob(layout, index), "size": len(index)})


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layout")
    parser.add_argument("--tag", default="latest")
    parser.add_argument("--layer", action="append", default=[])
    parser.add_argument("--config", default="{}")
    parser.add_argument("--compress", default="gzip", choices=sorted(LAYER_TYPES))
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument("--index", help="TAG1,TAG2,...: an index of these images")
    parser.add_argument("--attestation", action="append", default=[])
    args = parser.parse_args()
    if args.index:
        write_index(args.layout, args.tag, args.index.split(","), args.attestation)
        return
    layers = []
    for spec in args.layer or ["busybox"]:
        if spec == "busybox":
            layers.append(busybox_layer())
        elif os.path.isdir(spec):
            layers.append(dir_layer(spec))
        else:
            with open(spec, "rb") as f:
                layers.append(f.read())
    write_image(args.layout, args.tag, layers, json.loads(args.config), args.compress,
                tuple(args.platform.split("/")))


if __name__ == "__main__":
    sys.exit(main())
