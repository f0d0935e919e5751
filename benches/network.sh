#!/usr/bin/env bash
# benches/network.sh - the costs of kiln's bridge networking (issue 13), each
# against a reference measured in the same run, on this machine only.
#
#   1. start cost: `kiln run --rm --network NET IMG true` against the same with
#      `--network none` (target: at most 5 ms more), and with `-p 80` added
#      (publishing one port: target under 1 ms more). The three commands are
#      interleaved in ROUNDS rounds so machine noise hits them alike.
#   2. DNS: 1000 sequential A queries of a container's name to 127.0.0.11:53
#      from inside another container's network namespace (Python's sockets,
#      via nsenter: no process start in the timing); median and p99 in ms
#      (target: median under 0.2 ms).
#   3. TCP throughput (iperf3 from Debian, DURATION seconds each):
#      container -> container over a kiln bridge, and host -> published port
#      (this host's own address, through the DNAT), against two network
#      namespaces joined by a plain veth pair made here without kiln
#      (target: at least 80% of the reference).
#
# Usage (as root; not run by CI): bash benches/network.sh
# Env: KILN (default: cargo build --release), RUNS (default 30), ROUNDS (5),
#   DURATION (iperf3 seconds, default 5). Everything made here (root, network,
#   containers, namespaces) is removed at exit.
set -euo pipefail

RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
IMG=kiln-test/busybox
PY=/usr/bin/python3
for t in iperf3 nsenter ip "$PY"; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y iperf3 iproute2 python3)" >&2; exit 1; }
done
if [ -z "${KILN:-}" ]; then
  cargo build --release -q --manifest-path "$repo/Cargo.toml" --bin kiln
  KILN=$repo/target/release/kiln
fi
work=$(mktemp -d /tmp/kiln-bench-net.XXXXXX)
R=$work/root
k() { "$KILN" --root "$R" "$@"; }
tag=$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  k rm -f bench-a bench-b bench-web >/dev/null 2>&1 || true
  k network rm bench-net >/dev/null 2>&1 || true
  ip netns del "kbr$tag" 2>/dev/null || true
  ip netns del "kbs$tag" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$repo/testdata/busybox/make-rootfs.sh" "$work/busybox.tar" >/dev/null 2>&1
k import "$work/busybox.tar" "$IMG" >/dev/null
k network create bench-net >/dev/null

calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
median() { sort -n "$1" | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m}'; }

# time_into FILE CMD...: appends the wall-clock ms of one run of CMD to FILE
time_into() {
  local out=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000))" | awk '{printf "%.3f\n", $1 / 1000}' >>"$out"
}

# --- 1. start cost
echo "1. start cost, $RUNS runs each in $ROUNDS interleaved rounds" >&2
for _ in 1 2 3; do k run --rm --network bench-net "$IMG" true >/dev/null; done
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < RUNS / ROUNDS; i++)); do
    time_into "$work/none.ms" k run --rm --network none "$IMG" true
    time_into "$work/net.ms" k run --rm --network bench-net "$IMG" true
    time_into "$work/pub.ms" k run --rm --network bench-net -p 80 "$IMG" true
  done
done
none=$(median "$work/none.ms"); net=$(median "$work/net.ms"); pub=$(median "$work/pub.ms")
printf 'run --network none              median %8.2f ms\n' "$none"
printf 'run --network NET               median %8.2f ms   +%.2f ms over none (target <= 5)\n' \
  "$net" "$(calc "$net - $none")"
printf 'run --network NET -p 80         median %8.2f ms   +%.2f ms over NET  (target < 1)\n' \
  "$pub" "$(calc "$pub - $net")"

# --- 2. DNS lookups of a container name from another container
k run -d --name bench-a --network bench-net --dns 127.0.0.1 "$IMG" sleep 600 >/dev/null
k run -d --name bench-b --network bench-net --dns 127.0.0.1 "$IMG" sleep 600 >/dev/null
pid_of() { k inspect -f '{{.State.Pid}}' "$1"; }
ip_of() { k inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
pa=$(pid_of bench-a); pb=$(pid_of bench-b); ipa=$(ip_of bench-a)
nsenter -t "$pb" -n "$PY" - bench-a <<'EOF'
import socket, struct, sys, time
name = sys.argv[1].encode()
q = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(p)]) + p for p in name.split(b".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.connect(("127.0.0.11", 53))
times, fails = [], 0
for i in range(1100):
    t0 = time.perf_counter(); s.send(q(i & 0xffff))
    try:
        r = s.recv(512)
        ok = struct.unpack(">H", r[6:8])[0] > 0
    except OSError:
        ok = False
    if i >= 100:
        times.append((time.perf_counter() - t0) * 1000)
        fails += not ok
times.sort()
print("DNS A query of a container name   median %8.3f ms   p99 %.3f ms   (%d failed of %d; target median < 0.2)"
      % (times[len(times) // 2], times[int(len(times) * 0.99)], fails, len(times)))
EOF

# --- 3. throughput
iperf_server() { # NSENTER-PREFIX... : starts iperf3 -s in that namespace
  "$@" iperf3 -s -1 >/dev/null 2>&1 &
  pids+=($!)
  sleep 0.5
}
gbits() { "$@" iperf3 -c "$target" -p "$port" -t "$DURATION" -J 2>/dev/null |
  "$PY" -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }

# reference: two namespaces on a plain veth pair
ip netns add "kbr$tag"; ip netns add "kbs$tag"
ip link add "kbv$tag" netns "kbr$tag" type veth peer name "kbw$tag" netns "kbs$tag"
ip -n "kbr$tag" addr add 10.253.77.1/30 dev "kbv$tag"; ip -n "kbr$tag" link set "kbv$tag" up
ip -n "kbs$tag" addr add 10.253.77.2/30 dev "kbw$tag"; ip -n "kbs$tag" link set "kbw$tag" up
port=5201 target=10.253.77.2
iperf_server ip netns exec "kbs$tag"
ref=$(gbits ip netns exec "kbr$tag")

port=5201 target=$ipa
iperf_server nsenter -t "$pa" -n
c2c=$(gbits nsenter -t "$pb" -n)

hp=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])')
k run -d --name bench-web --network bench-net -p "$hp:5201" "$IMG" sleep 600 >/dev/null
pw=$(pid_of bench-web)
port=$hp target=$(ip -j -4 route show default | "$PY" -c 'import json,sys; d=json.load(sys.stdin)[0]["dev"]; import subprocess; a=json.loads(subprocess.check_output(["ip","-j","-4","addr","show","dev",d])); print(a[0]["addr_info"][0]["local"])')
iperf_server nsenter -t "$pw" -n
pubbw=$(gbits env)

printf 'iperf3 plain veth pair (reference)          %6s Gbit/s\n' "$ref"
printf 'iperf3 container -> container (kiln bridge)  %6s Gbit/s   ratio %.2f (target >= 0.8)\n' \
  "$c2c" "$(calc "$c2c / $ref")"
printf 'iperf3 host -> published port (DNAT)         %6s Gbit/s   ratio %.2f (target >= 0.8)\n' \
  "$pubbw" "$(calc "$pubbw / $ref")"
