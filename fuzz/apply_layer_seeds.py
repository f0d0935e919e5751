#!/usr/bin/env python3
"""Writes the seed corpus of the `apply_layer` fuzz target: small layer tars with
the attacks of the red-team report's "What held up" list (`../` and absolute
names, symlink-then-file, hard links out, whiteouts and opaque markers through
links, devices, setuid, duplicates, file-then-child, a non-directory root, long
link names, overlay xattrs, bad PAX ids, link loops, deep nesting, odd names),
plus gzip and zstd copies of a valid layer.

Links aim at the fuzz target's scratch directory (see apply_layer.rs), so a
link followed on the host would touch its sentinel files.

Usage: apply_layer_seeds.py OUT_DIR
"""
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile

TMP = "/tmp/kiln-fuzz-apply"
SENTINEL = TMP + "/root/sentinel"
HOST = TMP + "/host"


def info(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, **kw):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.linkname = link
    t.mode = mode
    t.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    t.mtime = 1700000000
    for k, v in kw.items():
        setattr(t, k, v)
    return t, data


def d(name, mode=0o755):
    return info(name, tarfile.DIRTYPE, mode=mode)


def f(name, data=b"x\n", mode=0o644, **kw):
    return info(name, data=data, mode=mode, **kw)


def sym(name, link):
    return info(name, tarfile.SYMTYPE, link=link, mode=0o777)


def hard(name, link):
    return info(name, tarfile.LNKTYPE, link=link)


def layer(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.size else None)
    return buf.getvalue()


VALID = [
    d("etc/"), f("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
    d("bin/"), f("bin/sh", b"#!binary\n", 0o755), sym("bin/ash", "sh"),
    hard("bin/ash2", "bin/sh"), d("tmp/", 0o1777), f("tmp/.keep", b""),
]

SEEDS = {
    "valid": VALID,
    "empty": [],
    "whiteouts": [d("a/"), f("a/keep"), f(".wh.gone"), f("a/.wh.old"), f("a/new")],
    "opaque": [d("a/"), f("a/.wh..wh..opq", b""), f("a/kept"), d("b/"), f("b/.wh..wh..opq", b"")],
    "dotdot-names": [f("../sentinel"), f("../../host/secret"), f("a/../../x"), f("./../x")],
    "absolute-names": [f(SENTINEL, b"owned\n"), f(HOST + "/secret", b"owned\n"), f("/etc/kiln-fuzz")],
    "symlink-abs-then-file": [sym("a", HOST), f("a/secret", b"owned\n"), f("a/new")],
    "symlink-rel-then-file": [sym("a", "../../host"), f("a/secret", b"owned\n"), sym("b", ".."), f("b/sentinel")],
    "symlink-root-then-file": [sym("r", "/"), f("r" + SENTINEL, b"owned\n"), sym("u", "../../../../.."), f("u/tmp/x")],
    "final-symlink-replaced": [sym("s", SENTINEL), f("s", b"owned\n"), sym("t", "../sentinel"), f("t", b"owned\n")],
    "hardlink-out": [hard("h1", SENTINEL), hard("h2", "../sentinel"), hard("h3", "../../host/secret")],
    "hardlink-via-symlink": [sym("a", HOST), hard("h", "a/secret"), sym("b", "/"), hard("h2", "b" + SENTINEL)],
    "hardlink-then-overwrite": [f("t", b"inside\n"), hard("h", "t"), f("h", b"changed\n"), hard("d", "t"), d("d/")],
    "whiteout-dotdot": [f(".wh.."), f("a/.wh.."), f(".wh."), f(".wh..wh..opq/x")],
    "whiteout-through-symlink": [sym("a", HOST), f("a/.wh.secret", b""), sym("b", "../../root"), f("b/.wh..wh..opq", b"")],
    "whiteout-absolute": [f(HOST + "/.wh.secret", b""), f(TMP + "/root/.wh.sentinel", b"")],
    "devices": [info("null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                info("sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
                info("fifo", tarfile.FIFOTYPE), info("wh", tarfile.CHRTYPE, devmajor=0, devminor=0)],
    "setuid": [f("su", b"x", 0o4755, uid=0, gid=0), f("sg", b"x", 0o2755, uid=1000, gid=1000), d("sticky/", 0o1777)],
    "duplicates": [f("a", b"1"), f("a", b"2"), d("b/"), d("b/"), sym("c", "a"), sym("c", "b")],
    "file-then-child": [f("f"), f("f/x"), d("d/"), f("d"), f("d/y")],
    "dir-over-file": [f("x"), d("x/"), sym("y", "x"), d("y/")],
    "root-not-dir": [f("./", b"root as file"), f("a")],
    "root-symlink": [sym(".", HOST), f("secret", b"owned\n")],
    "long-link": [sym("l", "a/" * 2500), hard("h", "b" * 5000), f("c" * 300)],
    "overlay-xattrs": [info("o/", tarfile.DIRTYPE, mode=0o755, pax_headers={"SCHILY.xattr.trusted.overlay.opaque": "y"}),
                       f("o/x", pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.k": "v"})],
    "bad-pax-ids": [f("u", pax_headers={"uid": "abc"}), f("g", pax_headers={"gid": "99999999999999999999"}),
                    f("m", pax_headers={"mtime": "-1e99"}), f("s", pax_headers={"size": "-5"})],
    "symlink-loop": [sym("a", "b"), sym("b", "a"), f("a/x"), sym("c", "c"), f("c/y")],
    "deep": [d("/".join(["n"] * k) + "/") for k in range(1, 40)] + [f("/".join(["n"] * 39) + "/leaf")],
    "odd-names": [f("new\nline"), f(b"bad\xffutf8".decode("utf-8", "surrogateescape")), f(" "), f("a//b"), f("./c/./d")],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, entries in SEEDS.items():
        fmt = tarfile.GNU_FORMAT if name == "long-link" else tarfile.PAX_FORMAT
        try:
            data = layer(entries, fmt)
        except (ValueError, tarfile.TarError, UnicodeError) as e:
            sys.exit(f"seed {name}: {e}")
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
    valid = layer(VALID)
    with open(os.path.join(out, "valid.gz"), "wb") as fh:
        fh.write(gzip.compress(valid, 6))
    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c"], input=valid, capture_output=True, check=True).stdout
        with open(os.path.join(out, "valid.zst"), "wb") as fh:
            fh.write(zst)


if __name__ == "__main__":
    main()
