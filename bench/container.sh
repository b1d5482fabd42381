#!/usr/bin/env bash
# The container image, built and tried as an operator would, with no image registry: the repository's
# Dockerfile built by Debian's buildah on a base made with debootstrap from Debian's packages (bookworm:
# python3 3.11), started, and paid through once. Prints the build time, the image's size, the time to
# answer /healthz, the user it runs as and the payment's status.
#
#   bash bench/container.sh            # build (the base and the image are cached) and try it
#   bash bench/container.sh --quick    # the same; reuses the image built from this very tree if there is
#                                      # one (under 30 s then; the first build takes minutes)
#   bash bench/container.sh --json     # one JSON object on the last line
#
# Needs root (debootstrap, buildah's vfs storage) and network to Debian's mirror and PyPI. Not run by CI
# (minutes, and a registry-free build is this script's whole point): run it after changing the
# Dockerfile, the dependencies or how `farthing serve` starts.
set -euo pipefail

QUICK=0
JSON=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --json) JSON=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/container.sh needs root (debootstrap, buildah)" >&2; exit 2; }
command -v buildah >/dev/null && command -v debootstrap >/dev/null || {
  apt-get update -qq && apt-get install -y -qq buildah debootstrap >/dev/null
}
B=(buildah --storage-driver vfs)
# chroot isolation: no OCI runtime, so no cgroups (crun refuses the hybrid cgroups of VMs like this one)
export BUILDAH_ISOLATION=chroot
CACHE=/var/tmp/farthing-container
ROOTFS="$CACHE/bookworm"
BASE=localhost/farthing-base:bookworm
TREE=$(git rev-parse --short=12 HEAD^{tree} 2>/dev/null || echo dirty)
[ -z "$(git status --porcelain -- Dockerfile pyproject.toml uv.lock src 2>/dev/null)" ] || TREE="$TREE-dirty"
IMAGE="localhost/farthing:$TREE"

if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOTFS" \
    http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1
fi
if ! "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  ctr=$("${B[@]}" from scratch)
  mnt=$("${B[@]}" mount "$ctr")
  cp -a "$ROOTFS/." "$mnt/"
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" commit --quiet "$ctr" "$BASE" >/dev/null
  "${B[@]}" rm "$ctr" >/dev/null
fi

build_s=0
if [ "$QUICK" = 0 ] || [[ "$TREE" == *-dirty ]] || ! "${B[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  started=$(date +%s.%N)
  # This machine's CA bundle (it may trust a proxy's CA that Debian's does not) for the build's downloads;
  # the image keeps its own bundle.
  bundle=/etc/ssl/certs/ca-certificates.crt
  "${B[@]}" bud --quiet --layers --build-arg "BASE=$BASE" -v "$bundle:/tmp/build-ca.crt:ro" \
    --build-arg BUILD_CA=/tmp/build-ca.crt -t "$IMAGE" -f Dockerfile . >/dev/null
  build_s=$(printf '%.1f' "$(echo "$(date +%s.%N) - $started" | bc)")
fi
user=$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")
size_mb=$("${B[@]}" images --format '{{.Size}}' "$IMAGE" | head -1)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctr=$("${B[@]}" from "$IMAGE")
log=$(mktemp)
cleanup() {
  pkill -f "farthing serve --host 127.0.0.1 --port $port" 2>/dev/null || true
  sleep 1
  "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT
started=$(date +%s.%N)
"${B[@]}" run --net host --user farthing --workingdir /data "$ctr" -- \
  farthing serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
base="http://127.0.0.1:$port"
for _ in $(seq 1 600); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$base/healthz" >/dev/null || { cat "$log" >&2; echo "the container did not answer" >&2; exit 1; }
start_s=$(printf '%.2f' "$(echo "$(date +%s.%N) - $started" | bc)")
operator=$(grep -o 'Operator key (shown once, keep it): sk_test_[A-Za-z0-9_-]*' "$log" | awk '{print $NF}')
uid=$("${B[@]}" run "$ctr" -- id -u)

post() { curl -s -X POST "$base$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
merchant=$(post /v1/merchants "$operator" '{"name": "Container shop"}' | field '["id"]')
customer_key=$(post /v1/customers "$operator" '{"name": "Container payer"}' | field '["api_key"]["secret"]')
post /v1/topups "$customer_key" '{"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"}' >/dev/null
status=$(post /v1/payments "$customer_key" "{\"merchant\": \"$merchant\", \"amount\": \"0.01\", \"currency\": \"USD\"}" \
  | field '["status"]')

echo "image $IMAGE ($size_mb), built in ${build_s} s (0: reused), runs as $user (uid $uid)"
echo "answered /healthz ${start_s} s after start; a payment through it: $status"
[ "$status" = succeeded ] && [ "$user" = farthing ] && [ "$uid" != 0 ]
if [ "$JSON" = 1 ]; then
  printf '{"build_s": %s, "start_s": %s, "image": "%s", "image_size": "%s", "user": "%s", "uid": %s, "payment": "%s"}\n' \
    "$build_s" "$start_s" "$IMAGE" "$size_mb" "$user" "$uid" "$status"
fi
