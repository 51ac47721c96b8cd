#!/bin/sh
# Installs the Debian packages imgswarm needs, only those missing.
#   scripts/install-deps.sh run    what `imgswarm` itself calls (cp, getfattr/setfattr, mknod, zstd; dnsmasq and ipxe for boot pxe)
#   scripts/install-deps.sh test   plus what the tests and benchmarks compare against
set -eu
want="attr coreutils zstd fdisk util-linux mount e2fsprogs xfsprogs dosfstools iproute2 dnsmasq-base ipxe"
if [ "${1:-run}" = test ]; then
  want="$want aria2 transmission-cli mktorrent tar time grub-pc-bin grub-efi-amd64-bin grub2-common busybox-static openssh-client fusefat qemu-system-x86 curl chromium ipxe-qemu grub-common cpio ovmf xorriso mtools rsync openssh-server faketime"
fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "imgswarm: missing Debian packages:$missing" >&2
  echo "  install them as root: apt-get install -y$missing" >&2
  exit 1
fi
echo "imgswarm: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
