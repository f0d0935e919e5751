#!/usr/bin/env python3
"""Writes the seed corpus of the load_archive fuzz target into OUT_DIR:
tiny valid docker-archives and OCI layouts (plain and gzip) and small
versions of the hostile archives of the red-team report (index fan-out,
JSON-member bomb, unsafe and escape-laden names, empty manifest.json,
mismatched diff_ids, long names, links). Usage: load_archive.py OUT_DIR"""
import gzip, hashlib, io, json, os, sys, tarfile

tarfile.RECORDSIZE = 1024  # no padding to 10 KiB records: small seeds
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


def add(tf, name, data, kind=tarfile.REGTYPE, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.linkname = kind, link
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(t, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        add(tf, "./", b"", tarfile.DIRTYPE)
        add(tf, "./hello", b"hi\n")
    return buf.getvalue()


def sha(d):
    return hashlib.sha256(d).hexdigest()


def archive(name, fill, gz=False, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        fill(tf)
    data = buf.getvalue()
    if gz:
        data = gzip.compress(data, 9, mtime=0)
    open(os.path.join(OUT, name), "wb").write(data)


LAYER = layer()
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(LAYER)]}}).encode()


def docker(tf, manifest=None, config=CONFIG):
    add(tf, sha(LAYER) + "/layer.tar", LAYER)
    add(tf, sha(config) + ".json", config)
    m = manifest if manifest is not None else [
        {"Config": sha(config) + ".json", "RepoTags": ["tiny:1"], "Layers": [sha(LAYER) + "/layer.tar"]}]
    add(tf, "manifest.json", json.dumps(m).encode())


def blob(tf, data, mt):
    add(tf, "blobs/sha256/" + sha(data), data)
    return {"mediaType": mt, "digest": "sha256:" + sha(data), "size": len(data)}


def oci(tf, layer_data=LAYER, layer_mt="application/vnd.oci.image.layer.v1.tar", levels=0, fan=1, config=CONFIG):
    l = blob(tf, layer_data, layer_mt)
    c = blob(tf, config, "application/vnd.oci.image.config.v1+json")
    ch = blob(tf, json.dumps({"schemaVersion": 2, "config": c, "layers": [l]}).encode(),
              "application/vnd.oci.image.manifest.v1+json")
    for _ in range(levels):
        ch = blob(tf, json.dumps({"schemaVersion": 2, "manifests": [ch] * fan}).encode(),
                  "application/vnd.oci.image.index.v1+json")
    ch["annotations"] = {"io.containerd.image.name": "docker.io/library/tiny:1"}
    add(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(tf, "index.json", json.dumps({"schemaVersion": 2, "manifests": [ch]}).encode())


archive("docker.tar", docker)
archive("docker.tar.gz", docker, gz=True)
archive("docker_pax.tar", docker, fmt=tarfile.PAX_FORMAT)
archive("oci.tar", oci)
archive("oci_gzip_layer.tar", lambda tf: oci(tf, gzip.compress(LAYER, 9, mtime=0),
                                             "application/vnd.oci.image.layer.v1.tar+gzip"))
archive("oci_fanout.tar", lambda tf: oci(tf, levels=3, fan=4))
bad_config = CONFIG.replace(sha(LAYER).encode(), b"0" * 64)
archive("oci_bad_diff_id.tar", lambda tf: oci(tf, config=bad_config))
archive("docker_bad_diff_id.tar", lambda tf: docker(tf, config=bad_config))
archive("docker_empty_manifest.tar", lambda tf: docker(tf, manifest=[]))
archive("docker_unsafe_layer.tar", lambda tf: docker(tf, manifest=[
    {"Config": sha(CONFIG) + ".json", "RepoTags": ["tiny:1"], "Layers": ["../../x/layer.tar"]}]))
archive("docker_esc_config.tar", lambda tf: docker(tf, manifest=[
    {"Config": "\x1b[31mred.json", "RepoTags": ["tiny:1"], "Layers": []}]))
archive("esc_member.tar", lambda tf: add(tf, "../\x1b]0;title\x07\x1b[2J", b"x"))
archive("long_name.tar", lambda tf: (add(tf, "d/" + "n" * 300, b"x"), docker(tf)))
archive("links.tar", lambda tf: (add(tf, "real.json", b"[]"),
                                 add(tf, "manifest.json", b"", tarfile.SYMTYPE, "real.json"),
                                 add(tf, "loop", b"", tarfile.SYMTYPE, "loop")))
archive("json_bomb.tar.gz", lambda tf: [add(tf, "m%d.json" % i, b" " * (64 << 10)) for i in range(3)], gz=True)
