#!/usr/bin/env bash
# benches/build_ab.sh - two kiln binaries side by side in one run: `kiln build`
# rebuilds of the issue's workloads (../shared/anchors/workloads), A = the
# reference (e.g. main's binary), B = the candidate. Prints the medians of RUNS
# runs of each and the ratio B/A (below 1: B is faster).
#   W1  three stages + a final stage copying from all three and from the context:
#       no-change rebuild (every step cached)
#   W2  20,000-file, ~200 MB context, `COPY . /app`: no-change rebuild, and the
#       rebuild after appending to one small file (the COPY misses and runs)
# Each binary has its own fresh --root (busybox:local loaded), first build
# untimed; runs of A and B are interleaved (alternating which goes first) so
# machine noise hits both alike; preparation (the file change) is never timed.
# No docker needed.
#
# Usage (as root): KILN_A=/path/kiln-before KILN_B=/path/kiln-after bash benches/build_ab.sh
# Env: RUNS (default 5), WORKLOADS (default "w1 w2"), SCENARIOS (default
#   "nochange change"; W1 has no change scenario), ANCHORS_TMP (W2 context,
#   default /tmp/kiln-bench-anchors), BENCH_DIR (roots; default a fresh /tmp dir).
set -euo pipefail

RUNS=${RUNS:-5}
WORKLOADS=${WORKLOADS:-w1 w2}
HERE=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=$(cd "$HERE/../shared/anchors" && pwd)
ANCHORS_TMP=${ANCHORS_TMP:-/tmp/kiln-bench-anchors}
BASE_ARCHIVE=${BASE_ARCHIVE:-$HERE/../shared/difftest/base/busybox-local.tar}
: "${KILN_A:?set KILN_A to the reference kiln binary}"
: "${KILN_B:?set KILN_B to the candidate kiln binary}"
WORK=${BENCH_DIR:-$(mktemp -d /tmp/kiln-bench-ab.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [[ -z "${BENCH_DIR:-}" ]] && rm -rf "$WORK"; return 0; }
trap cleanup EXIT

bin() { if [[ $1 = a ]]; then echo "$KILN_A"; else echo "$KILN_B"; fi; }
kiln() { local who=$1; shift; "$(bin "$who")" --root "$WORK/root-$who" "$@"; }
for who in a b; do
    rm -rf "$WORK/root-$who"; mkdir -p "$WORK/root-$who"
    kiln "$who" load -i "$BASE_ARCHIVE" >/dev/null
done

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
timed() { # NAME CMD... : runs CMD once, appends its wall time in ms
    local name=$1; shift; local t0 t1
    t0=$(now_us); "$@"; t1=$(now_us)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$WORK/$name.ms"
}
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
kb() { kiln "$1" build -q -f "$df" -t "$tag" "$ctx" >/dev/null; }

# Odd runs time B first: whichever runs second inherits the first one's
# writeback and cache state, so the order alternates.
order() { if (($1 % 2)); then echo "b a"; else echo "a b"; fi; }
nochange() { # W
    local i who; kb a; kb b # warm-up
    for ((i = 0; i < RUNS; i++)); do
        for who in $(order "$i"); do timed "$1.nochange.$who" kb "$who"; done
    done
}
changed() { # W
    local i who
    for ((i = 0; i < RUNS; i++)); do
        for who in $(order "$i"); do change; timed "$1.change.$who" kb "$who"; done
    done
}

for w in $WORKLOADS; do
    case $w in
    w1)
        ctx=$WORK/w1; rm -rf "$ctx"; mkdir -p "$ctx"
        cp -a "$ANCHORS/workloads/w1-multistage-parallel/." "$ctx/"
        df=$ctx/Dockerfile; tag=bench-w1:latest
        echo "== w1: first builds (untimed)" >&2; kb a; kb b
        nochange w1
        ;;
    w2)
        ctx=$ANCHORS_TMP/w2/context
        if [[ ! -f $ctx/.anchors-generated ]]; then
            "$ANCHORS/workloads/w2-big-context/gen-context.sh" "$ctx" >&2 && touch "$ctx/.anchors-generated"
        fi
        df=$ctx/Dockerfile; tag=bench-w2:latest
        victim=$ctx/src/pkg000/file00000.txt
        change() { echo "changed $(date +%s%N)" >>"$victim"; }
        echo "== w2: first builds (untimed)" >&2; kb a; kb b
        [[ " ${SCENARIOS:-nochange change} " = *" nochange "* ]] && nochange w2
        [[ " ${SCENARIOS:-nochange change} " = *" change "* ]] && changed w2
        ;;
    *) echo "unknown workload $w" >&2; exit 2 ;;
    esac
done

echo
echo "kiln build A/B, medians of $RUNS runs, $(nproc) cores"
echo "A=$KILN_A"
echo "B=$KILN_B"
printf '%-22s %12s %12s %9s\n' "workload / scenario" "A (ms)" "B (ms)" "B/A"
for f in "$WORK"/*.a.ms; do
    key=$(basename "$f" .a.ms)
    a=$(median "$f"); b=$(median "$WORK/$key.b.ms")
    printf '%-22s %12s %12s %9s\n' "$key" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done
