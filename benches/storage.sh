#!/usr/bin/env bash
# Storage benchmark: `kiln import` (gzip) and `kiln save --format docker`
# (decompresses) on a generated rootfs tar of SIZE_MB, against single-threaded
# references on the same bytes, measured in the same run: the crates kiln uses,
# alone (sha2, flate2 gzip-6, zstd-3, flate2 gunzip: benches/storage_reference.rs),
# and the system tools (sha256sum, gzip -6, zstd -3, gzip -d).
#
#   bash benches/storage.sh [SIZE_MB]       (default 500)
#
# Env: KILN=path/to/kiln (default: builds and uses target/release/kiln),
#      BENCH_DIR=scratch dir (default: a fresh dir under ${TMPDIR:-/tmp}; on disk,
#      not tmpfs, so kiln's fsyncs cost what they cost), RUNS (default 3),
#      SHM_DIR=a tmpfs for the second save (default /dev/shm): the save is timed
#      to disk and to tmpfs, and both ratios are printed.
# Prints the median of RUNS runs for every number. Peak RSS is GNU time's
# "Maximum resident set size"; the target is 64 MB for any image size.
set -euo pipefail

SIZE_MB=${1:-500}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${KILN:-}" ]]; then
    (cd "$HERE" && cargo build --release --bin kiln --quiet)
    KILN="$HERE/target/release/kiln"
fi
for tool in /usr/bin/time sha256sum gzip zstd python3 tar; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y time zstd)" >&2; exit 1; }
done
SHM=${SHM_DIR:-/dev/shm}
[[ "$(stat -f -c %T "$SHM" 2>/dev/null)" == tmpfs ]] || { echo "SHM_DIR=$SHM is not a tmpfs" >&2; exit 1; }
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench.XXXXXX")}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

# ---- generate the rootfs: ~55% random (4 big + some medium files), ~45%
# compressible text in many small files (1-64 KiB).
python3 - "$WORK/tree" "$SIZE_MB" <<'PY'
import os, random, sys
root, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
rnd = random.Random(1234)
os.makedirs(f"{root}/usr/bin", exist_ok=True)
big = int(size * 0.45) // 4
for i in range(4):
    with open(f"{root}/usr/bin/big{i}", "wb") as f:
        left = big
        while left:
            n = min(left, 1 << 22); f.write(rnd.randbytes(n)); left -= n
medium, done = int(size * 0.10), 0
os.makedirs(f"{root}/usr/lib", exist_ok=True)
i = 0
while done < medium:
    n = rnd.randint(64 << 10, 1 << 20)
    with open(f"{root}/usr/lib/lib{i}.so", "wb") as f: f.write(rnd.randbytes(n))
    done += n; i += 1
words = [w.encode() for w in "the of and image layer store digest kiln tar file config data never loses manifest blob index lock rename fsync".split()]
text = b" ".join(rnd.choice(words) + (b"\n" if rnd.random() < 0.1 else b"") for _ in range(600_000))
small, done, i = size - 4 * big - done, 0, 0
while done < small:
    n = rnd.randint(1 << 10, 64 << 10)
    d = f"{root}/usr/share/doc/pkg{i // 200}"
    os.makedirs(d, exist_ok=True)
    off = rnd.randint(0, len(text) - n)
    with open(f"{d}/file{i}.txt", "wb") as f: f.write(text[off:off + n])
    done += n; i += 1
PY
tar -C "$WORK/tree" -cf "$WORK/rootfs.tar" .
rm -rf "$WORK/tree"
TAR="$WORK/rootfs.tar"
BYTES=$(stat -c %s "$TAR")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
sync

# time_cmd OUTVAR_PREFIX CMD...: sets ${P}_wall (s) and ${P}_rss (KiB) for one run.
time_cmd() {
    local prefix=$1; shift
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null
    eval "${prefix}_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$WORK/time.txt")"
    eval "${prefix}_rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -a imp_w imp_r save_w save_r shm_w sha_w gz_w zst_w gunz_w lib_sha lib_gz lib_zst lib_gunz
(cd "$HERE" && cargo bench --quiet --bench storage_reference --no-run 2>/dev/null)
lib_ref() { (cd "$HERE" && cargo bench --quiet --bench storage_reference -- "$@" 2>/dev/null); }
GZ_BYTES=0; ZST_BYTES=0
for run in $(seq 1 "$RUNS"); do
    root="$WORK/root$run"
    time_cmd imp "$KILN" --root "$root" import "$TAR" bench:1
    imp_w+=("$imp_wall"); imp_r+=("$imp_rss")
    time_cmd sv "$KILN" --root "$root" save --format docker -o "$WORK/saved.tar" bench:1
    save_w+=("$sv_wall"); save_r+=("$sv_rss")
    time_cmd shm "$KILN" --root "$root" save --format docker -o "$SHM/kiln-bench-saved.$$.tar" bench:1
    shm_w+=("$shm_wall"); rm -f "$SHM/kiln-bench-saved.$$.tar"
    layer=$(find "$root/content/blobs/sha256" -type f -size +1M | head -n 1)
    time_cmd sha sha256sum "$TAR"; sha_w+=("$sha_wall")
    time_cmd gz sh -c "gzip -6 -c '$TAR' | wc -c > '$WORK/gz.size'"; gz_w+=("$gz_wall")
    time_cmd zs sh -c "zstd -q -3 -T1 -c '$TAR' | wc -c > '$WORK/zst.size'"; zst_w+=("$zs_wall")
    time_cmd gu sh -c "gzip -dc '$layer' | sha256sum >/dev/null"; gunz_w+=("$gu_wall")
    lib_ref "$TAR" "$layer" > "$WORK/lib.txt"
    lib_sha+=("$(awk '$1 == "sha2" { print $2 }' "$WORK/lib.txt")")
    lib_gz+=("$(awk '$1 == "flate2_gzip6" { print $2 }' "$WORK/lib.txt")")
    lib_zst+=("$(awk '$1 == "zstd3" { print $2 }' "$WORK/lib.txt")")
    lib_gunz+=("$(awk '$1 == "flate2_gunzip_sha2" { print $2 }' "$WORK/lib.txt")")
    GZ_BYTES=$(cat "$WORK/gz.size"); ZST_BYTES=$(cat "$WORK/zst.size")
    LAYER_BYTES=$(stat -c %s "$layer")
    rm -rf "$root" "$WORK/saved.tar"
done

IW=$(median "${imp_w[@]}"); IR=$(median "${imp_r[@]}")
SW=$(median "${save_w[@]}"); SR=$(median "${save_r[@]}"); MW=$(median "${shm_w[@]}")
HW=$(median "${sha_w[@]}"); GW=$(median "${gz_w[@]}"); ZW=$(median "${zst_w[@]}"); UW=$(median "${gunz_w[@]}")
LH=$(median "${lib_sha[@]}"); LG=$(median "${lib_gz[@]}"); LZ=$(median "${lib_zst[@]}"); LU=$(median "${lib_gunz[@]}")

awk -v mb="$MB" -v bytes="$BYTES" -v runs="$RUNS" -v iw="$IW" -v ir="$IR" -v sw="$SW" -v sr="$SR" -v mw="$MW" \
    -v hw="$HW" -v gw="$GW" -v zw="$ZW" -v uw="$UW" -v gzb="$GZ_BYTES" -v zsb="$ZST_BYTES" \
    -v lb="$LAYER_BYTES" -v kiln="$KILN" -v lh="$LH" -v lg="$LG" -v lz="$LZ" -v lu="$LU" 'BEGIN {
    printf "kiln storage bench: rootfs tar %s MB (%d bytes), median of %d runs, %s\n", mb, bytes, runs, kiln
    printf "  kiln layer (gzip) %.1f MB = %.1f%% of tar; gzip -6 %.1f%%; zstd -3 %.1f%%\n", lb / 1e6, 100 * lb / bytes, 100 * gzb / bytes, 100 * zsb / bytes
    printf "%-34s %9s %10s %12s\n", "operation", "wall s", "MB/s", "peak RSS MB"
    printf "%-34s %9.2f %10.1f %12.1f\n", "kiln import (gzip)", iw, mb / iw, ir / 1024
    printf "%-34s %9.2f %10.1f %12.1f\n", "kiln save --format docker", sw, mb / sw, sr / 1024
    printf "%-34s %9.2f %10.1f\n", "kiln save --format docker (tmpfs)", mw, mb / mw
    printf "%-34s %9.2f %10.1f\n", "ref: sha256sum", hw, mb / hw
    printf "%-34s %9.2f %10.1f\n", "ref: gzip -6 -c | wc -c", gw, mb / gw
    printf "%-34s %9.2f %10.1f\n", "ref: zstd -3 -T1 -c | wc -c", zw, mb / zw
    printf "%-34s %9.2f %10.1f\n", "ref: gzip -dc layer | sha256sum", uw, mb / uw
    printf "%-34s %9.2f %10.1f\n", "ref: sha256 + gzip -6 (sum)", hw + gw, mb / (hw + gw)
    printf "%-34s %9.2f %10.1f\n", "lib: sha2 (sha256)", lh, mb / lh
    printf "%-34s %9.2f %10.1f\n", "lib: flate2 gzip-6", lg, mb / lg
    printf "%-34s %9.2f %10.1f\n", "lib: zstd-3", lz, mb / lz
    printf "%-34s %9.2f %10.1f\n", "lib: flate2 gunzip + sha2", lu, mb / lu
    printf "ratio import / (sha2 + flate2 gzip-6) throughput: %.2f (target >= 0.80)\n", (lh + lg) / iw
    printf "ratio save / (flate2 gunzip + sha2) throughput:   %.2f (target >= 0.80), to disk\n", lu / sw
    printf "ratio save / (flate2 gunzip + sha2) throughput:   %.2f, to tmpfs\n", lu / mw
    printf "  (the reference is the decompression + hashing work proper; a save also writes the whole\n"
    printf "   uncompressed tar: to tmpfs that is a memory copy, to disk the page-cache fill and one fsync)\n"
    printf "ratio import / (sha256 + gzip-6) throughput: %.2f\n", (hw + gw) / iw
    printf "ratio save / (gunzip + sha256) throughput:  %.2f\n", uw / sw
    printf "peak RSS vs 64 MB target: import %.1f MB (%s), save %.1f MB (%s)\n", ir / 1024, (ir / 1024 <= 64 ? "ok" : "OVER"), sr / 1024, (sr / 1024 <= 64 ? "ok" : "OVER")
}'
