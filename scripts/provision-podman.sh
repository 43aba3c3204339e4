#!/usr/bin/env bash
# Give the Docker runner's tests an engine where the machine allows it: podman (Debian's package,
# as root) and the local image they run, `localhost/debian-py:bookworm`, built with debootstrap
# because nothing can be pulled here. Never fatal: where this cannot be done the tests skip,
# each naming what is missing.
set -uo pipefail

IMAGE=localhost/debian-py:bookworm

have_image() { command -v podman >/dev/null && podman image exists "$IMAGE" 2>/dev/null; }

if have_image; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "provision-podman: not root or no apt-get; the Docker runner's tests will skip" >&2
    exit 0
fi
echo "provision-podman: installing podman and building $IMAGE"
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    timeout 300 apt-get install -y --no-install-recommends podman runc debootstrap >/dev/null 2>&1 \
        || { echo "provision-podman: apt-get failed; the tests will skip" >&2; exit 0; }
fi
if [ ! -f /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' \
        > /etc/containers/containers.conf
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
if timeout 600 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" >/dev/null 2>&1; then
    tar -C "$rootfs" -c . | podman import - "$IMAGE" >/dev/null \
        || echo "provision-podman: podman import failed; the tests will skip" >&2
else
    echo "provision-podman: debootstrap failed; the tests will skip" >&2
fi
exit 0
