#!/usr/bin/env bash
# benches/run.sh - container start latency and per-container monitor memory.
#
# Usage: benches/run.sh            (as root; not run by CI)
#   RUNS=30 WARMUP=3 DETACHED=50   (defaults)
#
# 1. Start latency of a container running `true`, side by side in one run:
#      kiln run --rm IMG true                  (embedded runtime, the default,
#                with Docker's full default seccomp profile; its program
#                comes from the cache under <root>/seccomp/)
#      kiln run --rm IMG true, with <root>/seccomp/ removed before each run
#                (outside the timing): the profile is compiled at every start,
#                what every start cost before the cache
#      kiln run --rm --runtime crun IMG true
#      crun run  on an equivalent prepared bundle (the reference): kiln's own
#                config.json for the same image and command (Docker's seccomp
#                profile, capabilities, masked paths, /etc files, cgroup path),
#                over a plain directory extracted from the same rootfs tar, so
#                crun does the container work kiln asks its runtime to do;
#                kiln also prepares and removes an overlay snapshot each time
#      crun run  and runc run on a minimal bundle: config.json from `crun spec`
#                adjusted like ../shared/anchors/bench-start.sh (args true, no
#                terminal, read-only root; no seccomp, no cgroup limits)
#    crun refuses this host's hybrid cgroup layout, so bare crun runs in a
#    private mount namespace without /sys/fs/cgroup/unified (the anchors'
#    hide_unified); the unshare happens once per round, outside the timed
#    commands. The machine is shared and noisy, so the runs are interleaved:
#    $ROUNDS rounds, each timing every command RUNS/ROUNDS times in a row
#    (the first round after $WARMUP untimed warmup runs). Prints medians (ms),
#    the ratio kiln/crun on the equivalent bundle (target < 2.0) and on the
#    minimal bundle without seccomp (target <= 1.2, issue 11), and the same
#    for CPU time (bash's `time`: user + system of the command and of every
#    process it waited for), which a loaded machine distorts far less.
# 2. Starts $DETACHED `kiln run -d IMG sleep 600`, prints the median and max
#    VmRSS of their monitor processes (MonitorPid in state.json; target
#    < 2 MB each) and, when above target, where one monitor's RSS comes from
#    (/proc/PID/smaps: file-backed by mapping vs anonymous). Removes them.
set -euo pipefail

# Timing loop, also re-entered inside the private mount namespace for crun:
#   run.sh __loop OUT RUNS WARMUP CMD...   appends one duration (ms) per run to OUT;
#   with $BENCH_PREPARE set, runs it (untimed) before each run.
if [ "${1:-}" = __loop ]; then
  shift; out=$1 runs=$2 warmup=$3; shift 3
  for ((i = 0; i < warmup; i++)); do "$@" >/dev/null; done
  TIMEFORMAT='%3U %3S'
  for ((i = 0; i < runs; i++)); do
    [ -n "${BENCH_PREPARE:-}" ] && sh -c "$BENCH_PREPARE"
    t0=$(date +%s%N)
    { time "$@" >/dev/null 2>&1; } 2>"$out.rusage"
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000)) | awk '{printf "%.3f\n", $1 / 1000}' >>"$out"
    awk '{printf "%.3f\n", ($1 + $2) * 1000}' "$out.rusage" >>"$out.cpu"
  done
  exit 0
fi

RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3}
DETACHED=${DETACHED:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
self=$repo/benches/run.sh
IMG=kiln-test/busybox

cargo build --release -q --manifest-path "$repo/Cargo.toml" --bin kiln
K=$repo/target/release/kiln
work=$(mktemp -d /tmp/kiln-bench-run.XXXXXX)
R=$work/root
ids=()
cleanup() {
  [ ${#ids[@]} -gt 0 ] && "$K" --root "$R" rm -f "${ids[@]}" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

bash "$repo/testdata/busybox/make-rootfs.sh" "$work/busybox.tar" >/dev/null 2>&1
"$K" --root "$R" import "$work/busybox.tar" "$IMG" >/dev/null
B=$work/bundle
mkdir -p "$B/rootfs"
tar -xf "$work/busybox.tar" -C "$B/rootfs"
(cd "$B" && crun spec)
jq '.process.args = ["true"] | .process.terminal = false | .root.readonly = true' \
  "$B/config.json" >"$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"

# The equivalent bundle: the config.json kiln writes for this image and
# command, pointed at its own rootfs copy; the network namespace kiln pins
# under the container's directory becomes a fresh one.
equiv_id=$("$K" --root "$R" create "$IMG" true)
E=$work/bundle-equiv
mkdir -p "$E/rootfs"
tar -xf "$work/busybox.tar" -C "$E/rootfs"
jq --arg root "$E/rootfs" '.root.path = $root
    | .linux.namespaces |= map(if .type == "network" then {type: "network"} else . end)
    | .linux.cgroupsPath = "/kiln-bench/crun-equiv"' \
  "$R/containers/$equiv_id/bundle/config.json" >"$E/config.json"

hide_unified() {
  if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
    unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "$@"
  else
    "$@"
  fi
}

median() { sort -n "$1" | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m}'; }

# round NAME WRAPPER WARMUP CMD...: times CMD RUNS/ROUNDS times into $work/NAME.ms
round() {
  local name=$1 wrap=$2 warm=$3; shift 3
  $wrap bash "$self" __loop "$work/$name.ms" "$((RUNS / ROUNDS))" "$warm" "$@"
}

# report NAME: prints and saves (in $work/NAME.med, NAME.cpumed) the medians
# of NAME's wall-clock times and CPU times (user + system of the command and
# every process it waited for: what the start costs, whatever the load)
report() {
  local out=$work/$1.ms
  median "$out" >"$work/$1.med"
  median "$out.cpu" >"$work/$1.cpumed"
  printf '  %-34s median %7s ms  (min %s, max %s, %s runs), CPU median %6s ms\n' "$1" \
    "$(cat "$work/$1.med")" "$(sort -n "$out" | head -1)" "$(sort -n "$out" | tail -1)" \
    "$(wc -l <"$out")" "$(cat "$work/$1.cpumed")"
}

names=(kiln kiln-seccomp-compiled-each-start kiln-runtime-crun crun-equivalent-bundle
  crun-minimal-bundle runc-minimal-bundle)
echo "== start latency: run \`true\` (timing loop, $RUNS runs in $ROUNDS interleaved rounds, $WARMUP warmup)"
for name in "${names[@]}"; do : >"$work/$name.ms"; : >"$work/$name.ms.cpu"; done
for ((r = 0; r < ROUNDS; r++)); do
  warm=$([ "$r" -eq 0 ] && echo "$WARMUP" || echo 0)
  round kiln "" "$warm" "$K" --root "$R" run --rm "$IMG" true
  BENCH_PREPARE="rm -rf '$R/seccomp'" round kiln-seccomp-compiled-each-start "" "$warm" \
    "$K" --root "$R" run --rm "$IMG" true
  round kiln-runtime-crun "" "$warm" "$K" --root "$R" run --rm --runtime crun "$IMG" true
  round crun-equivalent-bundle hide_unified "$warm" crun --root "$work/crun-state" run --bundle "$E" bench-crun-equiv
  round crun-minimal-bundle hide_unified "$warm" crun --root "$work/crun-state" run --bundle "$B" bench-crun
  round runc-minimal-bundle "" "$warm" runc --root "$work/runc-state" run --bundle "$B" bench-runc
done
for name in "${names[@]}"; do report "$name"; done
awk -v k="$(cat "$work/kiln.med")" -v c="$(cat "$work/crun-equivalent-bundle.med")" \
  -v m="$(cat "$work/crun-minimal-bundle.med")" -v s="$(cat "$work/kiln-seccomp-compiled-each-start.med")" \
  'BEGIN {r = k / c; printf "  ratio kiln / crun on the equivalent bundle: %.2f (target < 2.0): %s\n", r, (r < 2.0) ? "ok" : "ABOVE TARGET";
          r = k / m; printf "  ratio kiln / crun on the minimal bundle:    %.2f (target <= 1.2): %s\n", r, (r <= 1.2) ? "ok" : "ABOVE TARGET";
          printf "  seccomp program cache saves:               %.1f ms per start (%.1f -> %.1f)\n", s - k, s, k}'
awk -v k="$(cat "$work/kiln.cpumed")" -v m="$(cat "$work/crun-minimal-bundle.cpumed")" \
  -v s="$(cat "$work/kiln-seccomp-compiled-each-start.cpumed")" \
  'BEGIN {printf "  CPU ratio kiln / crun on the minimal bundle: %.2f; the cache saves %.1f ms CPU per start\n", (m > 0) ? k / m : 0, s - k}'

echo "== monitor memory: $DETACHED x kiln run -d $IMG sleep 600"
for ((i = 0; i < DETACHED; i++)); do ids+=("$("$K" --root "$R" run -d "$IMG" sleep 600)"); done
: >"$work/rss"
for id in "${ids[@]}"; do
  mpid=$(jq -r .MonitorPid "$R/containers/$id/state.json")
  awk '/^VmRSS:/ {print $2}' "/proc/$mpid/status" >>"$work/rss"
done
med=$(median "$work/rss")
max=$(sort -n "$work/rss" | tail -1)
awk -v m="$med" -v x="$max" -v n="$(wc -l <"$work/rss")" \
  'BEGIN {printf "  monitor VmRSS over %d: median %.0f kB, max %d kB (target < 2048 kB each): %s\n", n, m, x, (x < 2048) ? "ok" : "ABOVE TARGET"}'
if [ "$max" -ge 2048 ]; then
  mpid=$(jq -r .MonitorPid "$R/containers/${ids[0]}/state.json")
  echo "  where one monitor's RSS comes from (pid $mpid):"
  grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' "/proc/$mpid/smaps_rollup" |
    awk '{printf "    %-15s %6d kB\n", $1, $2}'
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "") ? "[anon]" : $6}
       /^Rss:/ {rss[name] += $2}
       /^Anonymous:/ {anon[name] += $2}
       END {for (n in rss) if (rss[n] > 0) printf "    %6d kB rss (%6d kB anon)  %s\n", rss[n], anon[n], n}' \
    "/proc/$mpid/smaps" | sort -rn | head -8
fi
"$K" --root "$R" rm -f "${ids[@]}" "$equiv_id" >/dev/null
ids=()
echo "== done"
