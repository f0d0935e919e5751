#!/usr/bin/env bash
# benches/compose_config.sh - `kiln compose config` of a 50-service project.
#
# Usage: benches/compose_config.sh        (not run by CI)
#   RUNS=50 WARMUP=5 PROFILE=release      (defaults; PROFILE=debug skips the
#                                          release build and times target/debug)
#
# Generates a project of 50 services (ports, volumes, environment, depends_on,
# build, healthcheck, labels, networks, ${} interpolation, a .env file and an
# override file), then times, interleaved in the same run:
#   kiln compose config                the whole loader + canonical printing
#   kiln --version                     the reference: starting the binary
# and prints both medians (ms), the ratio config/reference and whether the
# config median is under the 20 ms target.
set -euo pipefail

RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
PROFILE=${PROFILE:-release}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "$PROFILE" = release ]; then
  cargo build --release -q --manifest-path "$repo/Cargo.toml" --bin kiln
fi
K=$repo/target/$PROFILE/kiln

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "name: bench"
  echo "services:"
  for i in $(seq 1 50); do
    prev=$((i > 1 ? i - 1 : 50))
    cat <<SVC
  svc$i:
    image: "registry.local/app$i:\${TAG:-latest}"
    build:
      context: ./svc$i
      args: ["VERSION=\${VERSION}"]
    ports: ["$((8000 + i)):80", "127.0.0.1:$((9000 + i)):9000/udp"]
    volumes: ["./data/$i:/data:ro", "cache$i:/cache"]
    environment:
      - INDEX=$i
      - HOST=\${HOST:-localhost}
      - EMPTY
    labels: ["com.example.index=$i", "com.example.tier=\${TIER:-web}"]
    healthcheck:
      test: curl -f http://localhost/ || exit 1
      interval: 30s
    networks: [front, back]
    command: ["serve", "--port", "80"]
SVC
    if [ "$i" -gt 1 ]; then echo "    depends_on: [svc$prev]"; fi
  done
  echo "networks:"
  echo "  front: {}"
  echo "  back: {internal: true}"
  echo "volumes:"
  for i in $(seq 1 50); do echo "  cache$i: {}"; done
} >"$work/compose.yaml"
printf 'TAG=1.2.3\nVERSION=7\nTIER=api\n' >"$work/.env"
printf 'services:\n  svc1:\n    environment: [OVERRIDE=1]\n' >"$work/compose.override.yaml"

cd "$work"
"$K" --root "$work/root" compose config >/dev/null # fails loudly if the project does not load

time_ms() { # prints one duration in ms of "$@"
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f\n", ns / 1e6 }'
}
for ((i = 0; i < WARMUP; i++)); do "$K" --root "$work/root" compose config >/dev/null; done
: >"$work/config.ms"; : >"$work/ref.ms"
for ((i = 0; i < RUNS; i++)); do
  time_ms "$K" --root "$work/root" compose config >>"$work/config.ms"
  time_ms "$K" --version >>"$work/ref.ms"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
config=$(median "$work/config.ms")
ref=$(median "$work/ref.ms")
echo "profile:                      $PROFILE ($RUNS runs, $(grep -c '^  svc[0-9]*:$' compose.yaml) services)"
echo "kiln compose config median:   $config ms"
echo "kiln --version median (ref):  $ref ms"
awk -v c="$config" -v r="$ref" 'BEGIN { printf "ratio config/reference:       %.2f\n", c / r;
  printf "target config < 20 ms:        %s\n", (c < 20 ? "met" : "NOT met") }'
