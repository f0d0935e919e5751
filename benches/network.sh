#!/usr/bin/env bash
# benches/network.sh - what bridge networking costs a container (issue 13).
#
# Usage: benches/network.sh        (as root; not run by CI)
#   RUNS=30 ROUNDS=5 WARMUP=3 DNS_QUERIES=1000 IPERF_SECONDS=5 IPERF_REPEATS=3
#   KILN=/path/to/kiln             (default: builds target/release/kiln)
#
# 1. Start latency, interleaved rounds in one run (medians, ms):
#      kiln run --rm --network none  IMG true      (the reference)
#      kiln run --rm --network NET   IMG true      target: at most +5 ms
#      kiln run --rm --network NET -p 80 IMG true  target: under +1 ms more
#                                                  than without -p
# 2. DNS: a container `web` and a container `client` on NET; python3 on the
#    host, inside the client's network namespace (nsenter --net), sends
#    $DNS_QUERIES raw UDP A queries for `web` to 127.0.0.11:53 one after the
#    other and times each: median per lookup, target < 0.2 ms. (busybox
#    nslookup starts a process per lookup, which would measure process
#    start, not DNS.)
# 3. TCP throughput with iperf3 (the host's binary, run inside the
#    containers' namespaces with nsenter --net, so busybox needs none):
#      container -> container over NET's bridge, against a plain veth pair
#        between two namespaces the script makes with `ip` (same MTU);
#      host 127.0.0.1:published port -> container, against host -> a
#        namespace over a plain veth pair;
#    median of $IPERF_REPEATS runs of $IPERF_SECONDS s; target >= 80% of the
#    reference.
# Everything the script makes (containers, the network, the root's default
# bridge and nft table, namespaces held by `unshare -n sleep` processes,
# veths, iperf3 servers) is removed on exit.
set -euo pipefail

# Timing loop: network.sh __loop OUT RUNS WARMUP CMD... appends one duration
# (ms) per run to OUT.
if [ "${1:-}" = __loop ]; then
  shift; out=$1 runs=$2 warmup=$3; shift 3
  for ((i = 0; i < warmup; i++)); do "$@" >/dev/null; done
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f\n", d / 1e6}' >>"$out"
  done
  exit 0
fi

RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3}
DNS_QUERIES=${DNS_QUERIES:-1000}
IPERF_SECONDS=${IPERF_SECONDS:-5}
IPERF_REPEATS=${IPERF_REPEATS:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
self=$repo/benches/network.sh
IMG=kiln-test/busybox
NET=kbench$$

if [ -z "${KILN:-}" ]; then
  cargo build --release -q --manifest-path "$repo/Cargo.toml" --bin kiln
  KILN=$repo/target/release/kiln
fi
K=$KILN
work=$(mktemp -d /tmp/kiln-bench-network.XXXXXX)
R=$work/root
ids=() pids=() links=()
# What the root's default `bridge` network leaves in the kernel once the
# root is gone (the CLI has no reset verb; tests call manage::reset): every
# object is named from the root's tag (sha256 of its path, 6 hex digits).
reset_root_network() {
  local tag link tool
  tag=$(printf %s "$(realpath "$R" 2>/dev/null || echo "$R")" | sha256sum | cut -c1-6)
  for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^k[bv]$tag"); do
    ip link del "$link" 2>/dev/null
  done
  nft delete table inet "kiln_$tag" 2>/dev/null
  for tool in iptables iptables-legacy; do
    "$tool" -S FORWARD 2>/dev/null | grep -F "kiln:$tag:" | sed 's/^-A /-D /' |
      while read -r rule; do eval "$tool $rule" 2>/dev/null; done
  done
}
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for f in "$work"/*.iperf.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  [ ${#ids[@]} -gt 0 ] && "$K" --root "$R" rm -f "${ids[@]}" >/dev/null 2>&1
  "$K" --root "$R" network rm "$NET" >/dev/null 2>&1
  for link in "${links[@]}"; do ip link del "$link" 2>/dev/null; done
  reset_root_network
  rm -rf "$work"
}
trap cleanup EXIT

kiln() { "$K" --root "$R" "$@"; }

bash "$repo/testdata/busybox/make-rootfs.sh" "$work/busybox.tar" >/dev/null 2>&1
kiln import "$work/busybox.tar" "$IMG" >/dev/null
kiln network create "$NET" >/dev/null

median() { sort -n "$1" | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m}'; }

# verdict VALUE OP TARGET: "ok" or "MISSES TARGET"
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {ok = (op == "<=") ? v <= t : (op == "<") ? v < t : v >= t; print ok ? "ok" : "MISSES TARGET"}'; }

# pid_of ID: the container's init PID (state.json), for nsenter
pid_of() { jq -r .Pid "$R/containers/$1/state.json"; }
in_netns() { local pid=$1; shift; nsenter --net="/proc/$pid/ns/net" "$@"; }
ipv4_of() { in_netns "$1" ip -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]; exit}'; }
mtu_of() { in_netns "$1" cat /sys/class/net/eth0/mtu 2>/dev/null || in_netns "$1" ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }

echo "== 1. start latency: run \`true\` ($RUNS runs in $ROUNDS interleaved rounds, $WARMUP warmup)"
names=(network-none network-NET network-NET-p80)
for name in "${names[@]}"; do : >"$work/$name.ms"; done
for ((r = 0; r < ROUNDS; r++)); do
  warm=$([ "$r" -eq 0 ] && echo "$WARMUP" || echo 0)
  per=$((RUNS / ROUNDS))
  bash "$self" __loop "$work/network-none.ms" "$per" "$warm" "$K" --root "$R" run --rm --network none "$IMG" true
  bash "$self" __loop "$work/network-NET.ms" "$per" "$warm" "$K" --root "$R" run --rm --network "$NET" "$IMG" true
  bash "$self" __loop "$work/network-NET-p80.ms" "$per" "$warm" "$K" --root "$R" run --rm --network "$NET" -p 80 "$IMG" true
done
for name in "${names[@]}"; do
  printf '  %-20s median %8s ms  (min %s, max %s, %s runs)\n' "$name" "$(median "$work/$name.ms")" \
    "$(sort -n "$work/$name.ms" | head -1)" "$(sort -n "$work/$name.ms" | tail -1)" "$(wc -l <"$work/$name.ms")"
done
none=$(median "$work/network-none.ms") net=$(median "$work/network-NET.ms") port=$(median "$work/network-NET-p80.ms")
d_net=$(awk -v a="$net" -v b="$none" 'BEGIN {printf "%.2f", a - b}')
d_port=$(awk -v a="$port" -v b="$net" 'BEGIN {printf "%.2f", a - b}')
echo "  --network NET costs ${d_net} ms over none (ratio $(awk -v a="$net" -v b="$none" 'BEGIN {printf "%.3f", a / b}'); target <= +5 ms): $(verdict "$d_net" '<=' 5)"
echo "  -p 80 costs ${d_port} ms over NET alone (target < +1 ms): $(verdict "$d_port" '<' 1)"

echo "== 2. DNS: $DNS_QUERIES lookups of a container name through 127.0.0.11, from inside a container"
web_id=$(kiln run -d --network "$NET" --name web "$IMG" sleep 600) && ids+=("$web_id")
client_id=$(kiln run -d --network "$NET" --name client "$IMG" sleep 600) && ids+=("$client_id")
client_pid=$(pid_of "$client_id")
in_netns "$client_pid" python3 - "$DNS_QUERIES" web <<'PY'
import socket, struct, sys, time
count, name = int(sys.argv[1]), sys.argv[2]
def query(ident):
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect(("127.0.0.11", 53))
times, failures, answered = [], 0, None
for i in range(count):
    ident = i & 0xFFFF
    t0 = time.perf_counter_ns()
    try:
        s.send(query(ident))
        while True:
            reply = s.recv(512)
            if struct.unpack(">H", reply[:2])[0] == ident:
                break
    except OSError:
        failures += 1
        continue
    times.append((time.perf_counter_ns() - t0) / 1e6)
    if answered is None:
        answered = struct.unpack(">H", reply[6:8])[0] > 0 and reply[3] & 0xF == 0
times.sort()
if not times:
    print("  no answer from 127.0.0.11:53 (%d failures): MISSES TARGET" % failures)
    sys.exit(0)
med = times[len(times) // 2]
print("  per lookup: median %.3f ms, p90 %.3f ms, min %.3f ms, %d answered, %d failed, answer for %r: %s"
      % (med, times[int(len(times) * 0.9)], times[0], len(times), failures, name,
         "an address" if answered else "NO ADDRESS"))
print("  DNS median %.3f ms (target < 0.2 ms): %s" % (med, "ok" if med < 0.2 and answered else "MISSES TARGET"))
PY

echo "== 3. TCP throughput (iperf3, ${IPERF_SECONDS}s x $IPERF_REPEATS, median)"
# iperf_server NAME PID PORT: an iperf3 server in PID's network namespace
iperf_server() {
  in_netns "$2" iperf3 -s -p "$3" -D --pidfile "$work/$1.iperf.pid" >/dev/null
  for _ in $(seq 50); do [ -s "$work/$1.iperf.pid" ] && break; sleep 0.1; done
  sleep 0.2
}
# iperf_client OUT [nsenter-pid|-] ADDRESS PORT: appends Gbit/s per repeat to OUT
iperf_client() {
  local out=$1 pid=$2 address=$3 port=$4 wrap=()
  [ "$pid" != - ] && wrap=(nsenter --net="/proc/$pid/ns/net")
  local gbps
  for ((i = 0; i < IPERF_REPEATS; i++)); do
    # A server still finishing the previous test answers "busy": retry.
    for _ in 1 2 3 4 5; do
      gbps=$("${wrap[@]}" iperf3 -c "$address" -p "$port" -t "$IPERF_SECONDS" -J |
        jq -r '(.end.sum_received.bits_per_second // empty) / 1e9') || true
      [ -n "$gbps" ] && break
      sleep 0.5
    done
    [ -n "$gbps" ] && echo "$gbps" >>"$out"
  done
}
web_pid=$(pid_of "$web_id")
web_ip=$(ipv4_of "$web_pid")
mtu=$(mtu_of "$web_pid")
iperf_server web "$web_pid" 5201
iperf_client "$work/c2c.gbps" "$client_pid" "$web_ip" 5201

srv_id=$(kiln run -d --network "$NET" -p 127.0.0.1:15201:5201 --name srv "$IMG" sleep 600) && ids+=("$srv_id")
iperf_server srv "$(pid_of "$srv_id")" 5201
iperf_client "$work/h2p.gbps" - 127.0.0.1 15201

# References: plain veth pairs made with ip, same MTU, no bridge, no NAT.
unshare -n sleep 3600 & pids+=($!); ref_a=$!
unshare -n sleep 3600 & pids+=($!); ref_b=$!
sleep 0.2
va=kbr$$a vb=kbr$$b vh=kbr$$h vn=kbr$$n
links+=("$va" "$vh")
ip link add "$va" mtu "$mtu" type veth peer name "$vb" mtu "$mtu"
ip link set "$va" netns "$ref_a"
ip link set "$vb" netns "$ref_b"
in_netns "$ref_a" sh -c "ip link set lo up && ip addr add 10.201.0.1/24 dev $va && ip link set $va up"
in_netns "$ref_b" sh -c "ip link set lo up && ip addr add 10.201.0.2/24 dev $vb && ip link set $vb up"
iperf_server ref-a "$ref_a" 5201
iperf_client "$work/ref-c2c.gbps" "$ref_b" 10.201.0.1 5201

# Host -> namespace over a plain veth: a /30 the host does not route yet.
third=$((RANDOM % 200 + 20))
while ip -4 route | grep -q "^10\.199\.$third\."; do third=$((RANDOM % 200 + 20)); done
ip link add "$vh" mtu "$mtu" type veth peer name "$vn" mtu "$mtu"
ip link set "$vn" netns "$ref_b"
ip addr add "10.199.$third.1/30" dev "$vh"
ip link set "$vh" up
in_netns "$ref_b" sh -c "ip addr add 10.199.$third.2/30 dev $vn && ip link set $vn up"
iperf_server ref-b "$ref_b" 5202
iperf_client "$work/ref-h2p.gbps" - "10.199.$third.2" 5202

c2c=$(median "$work/c2c.gbps") rc2c=$(median "$work/ref-c2c.gbps")
h2p=$(median "$work/h2p.gbps") rh2p=$(median "$work/ref-h2p.gbps")
r1=$(awk -v a="$c2c" -v b="$rc2c" 'BEGIN {printf "%.2f", a / b}')
r2=$(awk -v a="$h2p" -v b="$rh2p" 'BEGIN {printf "%.2f", a / b}')
echo "  container -> container over NET: ${c2c} Gbit/s; plain veth pair: ${rc2c} Gbit/s; ratio $r1 (target >= 0.80): $(verdict "$r1" '>=' 0.8)"
echo "  host 127.0.0.1:published -> container: ${h2p} Gbit/s; host -> namespace over a plain veth: ${rh2p} Gbit/s; ratio $r2 (target >= 0.80): $(verdict "$r2" '>=' 0.8)"
echo "== done"
