#!/usr/bin/env bash
# make-rootfs.sh - build kiln's test base image rootfs from Debian's busybox-static.
#
# Usage: testdata/busybox/make-rootfs.sh OUT.tar
#
# Writes OUT.tar: a reproducible GNU tar (names sorted, `./`-prefixed with a
# `./` root entry, mtime 0 or $SOURCE_DATE_EPOCH, owner 0:0 numeric) of a
# minimal busybox root filesystem:
#
#   bin/busybox (from busybox-static), one relative symlink per applet as
#   `busybox --list-full` places them, bin/sh, usr/bin/env; etc/passwd,
#   etc/group and etc/shadow with root (0) and nobody (65534, group nogroup
#   65534); etc/nsswitch.conf, hosts, resolv.conf, hostname; the usual empty
#   directories (dev proc sys run home root tmp var/tmp var/www ...), with
#   tmp and var/tmp 1777 and root 0700.
#
# The tree is the same (same paths, types, modes, owners, contents, link
# targets) as the base image the shared BuildKit difftest recordings were made
# on (difftest base/tree.tsv, 291 entries), so images built on it compare.
# With busybox-static 1:1.35.0-4+deb12u1+b1 (bookworm) and no SOURCE_DATE_EPOCH the tar
# is byte-identical to that base's layer: diff_id
# sha256:b5dc6b3575af8edd5cbc84be5d51e4bede4f015552fd105af22758276670007e.
#
# If busybox-static is not installed, installs it with apt-get (needs root).
# The unpacked tree is built in a temp dir and removed afterwards.
set -euo pipefail

die() { echo "make-rootfs.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUT.tar"
out=$1
busybox=/bin/busybox

ensure_busybox() {
  if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" \
     && [ -x "$busybox" ]; then
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "busybox-static is not installed; run ./scripts/install-deps --test as root"
  echo "make-rootfs.sh: installing busybox-static" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends busybox-static >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
  }
  [ -x "$busybox" ] || die "busybox-static installed but $busybox is missing"
}

# Applet symlinks: relative to the link's own directory, pointing at bin/busybox.
make_applet_links() {
  local path dir target
  "$busybox" --list-full | while read -r path; do
    case "$path" in bin/busybox | linuxrc | "") continue ;; esac
    dir=$(dirname "$path")
    case "$dir" in
      bin) target=busybox ;;
      sbin) target=../bin/busybox ;;
      usr/bin | usr/sbin) target=../../bin/busybox ;;
      *) die "unexpected applet directory in --list-full: $path" ;;
    esac
    mkdir -p "$dir"
    ln -sfn "$target" "$path"
  done
  [ -e bin/sh ] || ln -s busybox bin/sh
  [ -e usr/bin/env ] || ln -s ../../bin/busybox usr/bin/env
}

write_etc() {
  printf '%s\n' \
    'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'nobody:x:65534:' >etc/group
  printf '%s\n' 'root:*:19000:0:99999:7:::' 'nobody:*:19000:0:99999:7:::' >etc/shadow
  printf '%s\n' 'hosts: files dns' >etc/nsswitch.conf
  printf '%s\n' busybox >etc/hostname
  : >etc/hosts
  : >etc/resolv.conf
  chmod 0644 etc/passwd etc/group etc/nsswitch.conf etc/hostname etc/hosts etc/resolv.conf
  chmod 0640 etc/shadow
}

build_tree() {
  umask 022
  mkdir -p bin sbin usr/bin usr/sbin etc root tmp var/tmp var/www proc sys dev run home
  chmod 0755 bin sbin usr usr/bin usr/sbin etc var var/www proc sys dev run home
  chmod 1777 tmp var/tmp
  chmod 0700 root
  install -m 0755 "$busybox" bin/busybox
  make_applet_links
  write_etc
}

ensure_busybox
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/rootfs"
(cd "$work/rootfs" && build_tree)

chmod 0755 "$work/rootfs"
LC_ALL=C tar --sort=name --format=gnu --mtime="@${SOURCE_DATE_EPOCH:-0}" \
  --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$out.tmp" .
mv -f "$out.tmp" "$out"
echo "make-rootfs.sh: wrote $out ($(stat -c %s "$out") bytes)" >&2
