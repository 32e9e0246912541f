#!/usr/bin/env bash
# Fetches what the real-kernel test of libs/kernel-notes needs, into .cache/ (gitignored):
#   - Debian's linux-image-*-cloud-amd64 and linux-image-*-amd64 packages (the versions the
#     metapackages linux-image-cloud-amd64 / linux-image-amd64 currently depend on), with
#     their /boot/vmlinuz-* extracted;
#   - Xen's readnotes (xen-utils-4.17): /usr/lib/xen-4.17/bin/readnotes when installed,
#     otherwise the package and the shared libraries it needs are downloaded and extracted
#     under .cache/xen-readnotes (installing xen-utils-4.17 would pull in systemd and udev).
# Prints KEY=VALUE lines: KERNEL=<vmlinuz path> (one per package), READNOTES=<path>,
# READNOTES_LD_LIBRARY_PATH=<dir or empty>. Idempotent: cached downloads are reused.
# Runs unattended (CI=true, no stdin); needs apt-get (root, or sudo) and a Debian mirror.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$ROOT/.cache/debian-kernels"
XCACHE="$ROOT/.cache/xen-readnotes"
mkdir -p "$CACHE" "$XCACHE"
SUDO=
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
UPDATED="$CACHE/.apt-updated"
rm -f "$UPDATED"

apt_update() {
  if [ ! -e "$UPDATED" ]; then
    echo "fetch-debian-kernels: apt-get update" >&2
    $SUDO apt-get update -qq >&2
    touch "$UPDATED"
  fi
}

# The versioned package a metapackage depends on, e.g. linux-image-6.1.0-47-cloud-amd64.
resolve() {
  apt-cache depends "$1" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# apt-get download into the current directory, updating the lists once if it fails.
download() {
  # Downloads as root write into a directory _apt cannot read; that is only a warning.
  apt-get download "$@" >&2 2>/dev/null || { apt_update; apt-get download "$@" >&2; }
}

for meta in linux-image-cloud-amd64 linux-image-amd64; do
  pkg=$(resolve "$meta")
  if [ -z "$pkg" ]; then apt_update; pkg=$(resolve "$meta"); fi
  if [ -z "$pkg" ]; then echo "fetch-debian-kernels: cannot resolve $meta" >&2; exit 1; fi
  dir="$CACHE/$pkg"
  if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
    (cd "$CACHE" && download "$pkg")
    deb=$(ls -t "$CACHE/${pkg}"_*.deb | head -1)
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp" --wildcards './boot/vmlinuz-*'
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    rm -f "$deb"
  fi
  echo "KERNEL=$(ls "$dir"/boot/vmlinuz-* | head -1)"
done

if [ -x /usr/lib/xen-4.17/bin/readnotes ]; then
  echo "READNOTES=/usr/lib/xen-4.17/bin/readnotes"
  echo "READNOTES_LD_LIBRARY_PATH="
else
  root="$XCACHE/root"
  if [ ! -x "$root/usr/lib/xen-4.17/bin/readnotes" ]; then
    rm -rf "$XCACHE/debs" && mkdir -p "$XCACHE/debs"
    (cd "$XCACHE/debs" && download xen-utils-4.17 libxenmisc4.17 libxentoolcore1 libxentoollog1 libxencall1 \
      libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenstore4)
    rm -rf "$root.tmp" && mkdir -p "$root.tmp"
    for deb in "$XCACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$root.tmp"; done
    rm -rf "$root" && mv "$root.tmp" "$root" && rm -rf "$XCACHE/debs"
  fi
  echo "READNOTES=$root/usr/lib/xen-4.17/bin/readnotes"
  echo "READNOTES_LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/xen-4.17/lib/x86_64-linux-gnu"
fi
