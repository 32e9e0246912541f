#!/usr/bin/env bash
# Fetches every Xen-bootable ELF image this machine's Debian sources carry, for the real-image
# test of libs/kernel-notes (libs/kernel-notes/src/debian-kernels.int.spec.ts), into
# .cache/debian-images (gitignored), and Xen's own readnotes to compare with:
#
#   kernels     linux-image-{amd64,cloud-amd64,rt-amd64} and, from the i386 archive,
#               linux-image-{686-pae,rt-686-pae}:i386 (the versions the metapackages depend
#               on today): /boot/vmlinuz-*; and linux-image-686:i386, built without Xen
#               support (no notes)
#   bootloaders grub-xen-host: /usr/lib/grub-xen/grub-{i386-xen,x86_64-xen,i386-xen_pvh}.bin
#               (PV and PVH GRUB, as pvgrub2 / pvh-grub guests boot them)
#   others      gnumach-image-1.8-xen-486 (GNU Mach for Xen PV: a legacy __xen_guest section),
#               xen-utils-4.17: /usr/lib/xen-4.17/boot/xen-shim (the PV shim, a PVH image)
#   no notes    grub-xen-bin's kernel.img (GRUB's core before grub-mkimage adds the notes) and
#               xen-utils' hvmloader: ELF images that are not Xen guests, to check that both
#               sides find no notes
#   readnotes   xen-utils-4.17's /usr/lib/xen-4.17/bin/readnotes with the shared libraries it
#               needs, extracted (installing xen-utils would pull in systemd and udev)
#
# apt runs on a private state under .cache/apt (its own package lists, amd64 and i386), so
# the machine's apt and dpkg configuration are not touched and i386 packages can be
# downloaded without `dpkg --add-architecture`. The lists are updated on every run: when the
# archive cannot be reached the script fails (exit 1) instead of using a stale cache
# (FETCH_DEBIAN_APT_OPTS="-o Acquire::http::Proxy=http://127.0.0.1:9" shows it).
# Downloads are cached by package version; a new version is fetched, old ones are removed.
#
# Prints one line per image, IMAGE=<role>|<package>|<version>|<path>, then READNOTES=<path>
# and READNOTES_LD_LIBRARY_PATH=<dirs>. Roles: linux-kernel, pv-bootloader, pvh-bootloader,
# pv-kernel, pvh-image, not-xen. Unattended (CI=true, no stdin); needs apt-get and dpkg-deb.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$ROOT/.cache/debian-images"
APTDIR="$ROOT/.cache/apt"
mkdir -p "$CACHE" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$CACHE/.debs"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "APT::Architectures::=amd64" -o "APT::Architectures::=i386" -o "Acquire::Retries=3")
if [ "$(id -u)" = 0 ]; then APT_OPTS+=(-o "APT::Sandbox::User=root"); fi
# extra apt options, e.g. a proxy (or an unreachable one, to see the failure)
if [ -n "${FETCH_DEBIAN_APT_OPTS:-}" ]; then read -r -a extra <<< "$FETCH_DEBIAN_APT_OPTS"; APT_OPTS+=("${extra[@]}"); fi

log() { echo "fetch-debian-kernels: $*" >&2; }
die() { log "$*"; exit 1; }

log "apt-get update (private lists in .cache/apt, amd64 + i386)"
# --error-on=any: a source that cannot be fetched is an error (by default apt warns and keeps old lists)
apt-get "${APT_OPTS[@]}" update -qq --error-on=any >&2 < /dev/null || die "apt-get update failed: the Debian archive cannot be reached (see above)"

# apt-cache is slow on a loaded machine (it reads all the lists on each call): ask once.
METAS=(linux-image-amd64 linux-image-cloud-amd64 linux-image-rt-amd64 linux-image-686-pae:i386 linux-image-rt-686-pae:i386 linux-image-686:i386)
OTHERS=(grub-xen-host grub-xen-bin gnumach-image-1.8-xen-486 xen-utils-4.17 libxenmisc4.17 libxentoolcore1 libxentoollog1 libxencall1
  libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenstore4)
declare -A DEP VER
while read -r meta dep; do DEP[$meta]=$dep; done < <(apt-cache "${APT_OPTS[@]}" depends "${METAS[@]}" 2>/dev/null |
  awk '/^[^ ]/ { m = $1; sub(/:$/, "", m) } $1 == "Depends:" && $2 ~ /^linux-image-/ && !(m in seen) { seen[m] = 1; print m, $2 }')
KERNELS=()
for meta in "${METAS[@]}"; do
  [ -n "${DEP[$meta]:-}" ] || die "cannot resolve $meta (is the archive for its architecture reachable?)"
  KERNELS+=("${DEP[$meta]}")
done
while read -r pkg ver; do VER[$pkg]=$ver; done < <(apt-cache "${APT_OPTS[@]}" policy "${KERNELS[@]}" "${OTHERS[@]}" 2>/dev/null |
  awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } $1 == "Candidate:" { print p, $2 }')
candidate() { printf '%s\n' "${VER[$1]:-}"; }

# fetch <package[:arch]> <member>...: extracts the members (./path) of the package's current
# version into $CACHE/<package>_<version>/ and sets DIR to that directory.
KEEP=()
DIR=
fetch() {
  local pkg=$1; shift
  local ver; ver=$(candidate "$pkg")
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate version for $pkg in the Debian archive"
  local dir="$CACHE/${pkg%%:*}_${ver//[:\/]/_}"
  KEEP+=("$dir")
  if [ ! -e "$dir/.complete" ]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    local deb; deb=$(debfile "$pkg" "$ver")
    if [ $# -gt 0 ]; then
      # tar stops reading once it has every member (--occurrence); dpkg-deb then sees a broken pipe
      { dpkg-deb --fsys-tarfile "$deb" 2>/dev/null || true; } | tar -x -C "$dir.tmp" --occurrence=1 "$@" 2>/dev/null || true
      for m in "$@"; do [ -e "$dir.tmp/$m" ] || die "$pkg $ver has no $m"; done
    else
      dpkg-deb -x "$deb" "$dir.tmp"
    fi
    rm -f "$deb"
    touch "$dir.tmp/.complete"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  DIR=$dir
}

# The .deb of pkg=ver: downloaded with all the others below, or now on its own.
debfile() {
  local f; f=$(ls "$CACHE/.debs/${1%%:*}_"*.deb 2>/dev/null | head -1)
  if [ -z "$f" ]; then
    log "download $1 $2"
    (cd "$CACHE/.debs" && apt-get "${APT_OPTS[@]}" download "$1=$2" >&2 2>"$CACHE/.debs/err" < /dev/null) ||
      { cat "$CACHE/.debs/err" >&2; die "apt-get download $1=$2 failed"; }
    f=$(ls "$CACHE/.debs/${1%%:*}_"*.deb | head -1)
  fi
  printf '%s\n' "$f"
}

# One apt-get download for every package not cached yet (each apt call reads all the lists)
NEED=()
for p in "${KERNELS[@]}" "${OTHERS[@]}"; do
  v=$(candidate "$p")
  [ -n "$v" ] && [ "$v" != "(none)" ] || die "no candidate version for $p in the Debian archive"
  [ -e "$CACHE/${p%%:*}_${v//[:\/]/_}/.complete" ] || NEED+=("$p=$v")
done
rm -rf "$CACHE/.debs" && mkdir -p "$CACHE/.debs"
if [ ${#NEED[@]} -gt 0 ]; then
  log "download ${#NEED[@]} packages: ${NEED[*]}"
  (cd "$CACHE/.debs" && apt-get "${APT_OPTS[@]}" download "${NEED[@]}" >&2 2>"$CACHE/.debs/err" < /dev/null) ||
    { cat "$CACHE/.debs/err" >&2; die "apt-get download failed"; }
fi
image() { printf 'IMAGE=%s|%s|%s|%s\n' "$1" "$2" "$(candidate "$2")" "$3"; }

# Linux kernels of every flavour Debian builds with Xen guest support, amd64 and i386
for pkg in "${KERNELS[@]}"; do
  base=${pkg%%:*}
  abi=${base#linux-image-}
  fetch "$pkg" "./boot/vmlinuz-$abi"
  # the 686 (non-PAE) flavour is built without Xen guest support: no notes, a check of "none"
  role=linux-kernel; case $abi in *-686) role=not-xen ;; esac
  image "$role" "$pkg" "$DIR/boot/vmlinuz-$abi"
done

fetch grub-xen-host ./usr/lib/grub-xen/grub-i386-xen.bin ./usr/lib/grub-xen/grub-x86_64-xen.bin ./usr/lib/grub-xen/grub-i386-xen_pvh.bin
image pv-bootloader grub-xen-host "$DIR/usr/lib/grub-xen/grub-i386-xen.bin"
image pv-bootloader grub-xen-host "$DIR/usr/lib/grub-xen/grub-x86_64-xen.bin"
image pvh-bootloader grub-xen-host "$DIR/usr/lib/grub-xen/grub-i386-xen_pvh.bin"

fetch grub-xen-bin ./usr/lib/grub/i386-xen/kernel.img ./usr/lib/grub/x86_64-xen/kernel.img ./usr/lib/grub/i386-xen_pvh/kernel.img
for t in i386-xen x86_64-xen i386-xen_pvh; do image not-xen grub-xen-bin "$DIR/usr/lib/grub/$t/kernel.img"; done

fetch gnumach-image-1.8-xen-486 ./boot/gnumach-1.8-xen-486.gz
image pv-kernel gnumach-image-1.8-xen-486 "$DIR/boot/gnumach-1.8-xen-486.gz"

# xen-utils-4.17: the PV shim and hvmloader, and readnotes with the libraries it links
XU=usr/lib/xen-4.17
fetch xen-utils-4.17 ./$XU/boot/xen-shim ./$XU/boot/hvmloader ./$XU/bin/readnotes
xdir=$DIR
image pvh-image xen-utils-4.17 "$xdir/$XU/boot/xen-shim"
image not-xen xen-utils-4.17 "$xdir/$XU/boot/hvmloader"

# readnotes' shared libraries
LIBS=(libxenmisc4.17 libxentoolcore1 libxentoollog1 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1
  libxengnttab1 libxenhypfs1 libxenstore4)
LIBDIRS=()
for lib in "${LIBS[@]}"; do
  fetch "$lib"
  for sub in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu usr/lib/xen-4.17/lib/x86_64-linux-gnu; do
    [ -d "$DIR/$sub" ] && LIBDIRS+=("$DIR/$sub")
  done
done
# old versions of everything
for d in "$CACHE"/*/; do
  d=${d%/}
  keep=0
  for k in "${KEEP[@]}"; do [ "$k" = "$d" ] && keep=1; done
  [ $keep = 1 ] || { log "remove old $(basename "$d")"; rm -rf "$d"; }
done
rm -rf "$ROOT/.cache/debian-kernels" "$ROOT/.cache/xen-readnotes" # this script's older cache layout

echo "READNOTES=$xdir/$XU/bin/readnotes"
(IFS=:; echo "READNOTES_LD_LIBRARY_PATH=${LIBDIRS[*]}")
