#!/usr/bin/env python3
"""Writes busybox:latest as an image archive (an OCI image layout in a tar, what `docker load`
and berthd's POST /images/load take) from a root filesystem made by busybox-rootfs.sh.

    scripts/busybox-image.py ROOTFS OUT.tar
"""
import gzip, hashlib, io, json, sys, tarfile, time

rootfs, out = sys.argv[1], sys.argv[2]

def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()

layer_tar = io.BytesIO()
with tarfile.open(fileobj=layer_tar, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(rootfs, arcname=".", recursive=True)
layer = layer_tar.getvalue()
layer_gz = gzip.compress(layer, mtime=0)
config = json.dumps({
    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [blob(layer)]},
    "history": [{"created_by": "berth scripts/busybox-image.py from Debian's busybox-static"}],
}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(layer_gz), "size": len(layer_gz)}],
}).encode()
index = json.dumps({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest), "size": len(manifest),
    "annotations": {"io.containerd.image.name": "docker.io/library/busybox:latest", "org.opencontainers.image.ref.name": "latest"},
    "platform": {"architecture": "amd64", "os": "linux"},
}]}).encode()
with tarfile.open(out, "w") as t:
    def put(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", index)
    for data in (config, manifest, layer_gz):
        put("blobs/sha256/" + blob(data)[7:], data)
