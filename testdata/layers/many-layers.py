#!/usr/bin/env python3
"""Writes a docker-archive image with many layers, for the layer count tests.

Usage: many-layers.py BASE.tar N OUT.tar TAG

BASE.tar is a docker archive (its first image's layers come first, e.g.
testdata/difftest/base/busybox-local.tar); then N one-file layers follow:
layer i adds /f<i> and rewrites /top, both holding "i\n".
"""
import hashlib
import io
import json
import sys
import tarfile


def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def add(tf, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 1700000000
    tf.addfile(info, io.BytesIO(data))


def main():
    base, count, out, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with tarfile.open(base) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))[0]
        config = json.load(tf.extractfile(manifest["Config"]))
        layers = [tf.extractfile(name).read() for name in manifest["Layers"]]
    for i in range(1, count + 1):
        text = f"{i}\n".encode()
        layers.append(layer_tar([(f"f{i}", text), ("top", text)]))
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config.pop("history", None)
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    names = [f"{n}/layer.tar" for n in range(len(layers))]
    with tarfile.open(out, "w") as tf:
        for name, layer in zip(names, layers):
            add(tf, name, layer)
        add(tf, config_name, config_bytes)
        entry = {"Config": config_name, "RepoTags": [tag], "Layers": names}
        add(tf, "manifest.json", json.dumps([entry]).encode())


if __name__ == "__main__":
    main()
