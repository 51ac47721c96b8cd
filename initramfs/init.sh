#!/bin/sh
# imgswarm boot image: /init (PID 1). Mounts the kernel file systems, loads
# drivers, brings the network up, then runs the install client, which reads
# the imgswarm.* kernel parameters itself (docs/kernel-parameters.md). On
# failure: a readable error and a shell, unless imgswarm.post says to power
# off or reboot. PID 1 must never exit, so every path ends in a loop.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux LANG=C.UTF-8

mkdir -p /proc /sys /dev /run /tmp /root /var/run
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
[ -d /sys/firmware/efi/efivars ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null
exec </dev/console >/dev/console 2>&1
echo 0 >/proc/sys/kernel/printk_ratelimit 2>/dev/null
# Keep kernel messages from writing over the progress display (errors still show).
echo 3 >/proc/sys/kernel/printk 2>/dev/null

# --- the imgswarm.* parameters /init itself uses ---------------------------
P_IP= P_POST= P_DISK= P_MAC= P_HOST= P_DEBUG= P_MODULES= P_NETWAIT=60 P_BREAK= P_SERVER=
for w in $(cat /proc/cmdline); do
  [ "$w" = "--" ] && break
  v=${w#*=}
  case "$w" in
    imgswarm.ip=*) P_IP=$v ;;
    imgswarm.post=*) P_POST=$v ;;
    imgswarm.disk=*) P_DISK=$v ;;
    imgswarm.mac=*) P_MAC=$v ;;
    imgswarm.hostname=*) P_HOST=$v ;;
    imgswarm.server=*) P_SERVER=$v ;;
    imgswarm.debug | imgswarm.debug=1) P_DEBUG=1 ;;
    imgswarm.debug=0) P_DEBUG= ;;
    imgswarm.modules=*) P_MODULES=$v ;;
    imgswarm.netwait=*) P_NETWAIT=$v ;;
    imgswarm.break | imgswarm.break=1) P_BREAK=1 ;;
  esac
done
case "$P_NETWAIT" in '' | *[!0-9]*) echo "imgswarm: imgswarm.netwait=$P_NETWAIT is not a number of seconds; using 60"; P_NETWAIT=60 ;; esac
[ -n "$P_DEBUG" ] && set -x

# Every console the kernel writes to (console=tty0 console=ttyS0: both), so the banner shows on each.
consoles() {
  for c in $(cat /sys/class/tty/console/active 2>/dev/null); do [ -c "/dev/$c" ] && echo "/dev/$c"; done
}
say_all() {
  for c in $(consoles); do printf '%s\n' "$@" >"$c" 2>/dev/null; done
  [ -z "$(consoles)" ] && printf '%s\n' "$@"
}
rule='=============================================================================='
step() { echo "imgswarm: $*"; }

rescue_shell() {
  echo
  echo "imgswarm: starting a shell. 'imgswarm install' runs the installer again (it reads /proc/cmdline);"
  echo "imgswarm: 'poweroff -f' or 'reboot -f' ends this boot."
  while :; do
    setsid cttyhack sh -l || sh -l
  done
}

# --- drivers -----------------------------------------------------------------
# No udev: load the driver for every device the kernel announces (modalias),
# several rounds, because loaded drivers reveal devices of their own (virtio_pci
# finds the virtio disks and NICs). Then the file systems the client formats.
load_drivers() {
  for round in 1 2 3; do
    find /sys/devices -name modalias -type f 2>/dev/null | while read -r f; do cat "$f"; done | sort -u >/run/modaliases
    xargs -r modprobe -q -a -b </run/modaliases 2>/dev/null
    sleep 0.3
  done
  modprobe -q -a ext4 xfs vfat nls_cp437 nls_ascii nls_iso8859_1 crc32c_generic crc32c_intel 2>/dev/null
  if [ -n "$P_MODULES" ]; then
    for m in $(echo "$P_MODULES" | tr ',' ' '); do modprobe "$m" || echo "imgswarm: warning: cannot load module $m"; done
  fi
}

# --- network -----------------------------------------------------------------
nics() {
  for n in /sys/class/net/*; do
    n=${n##*/}
    [ "$n" = lo ] && continue
    [ -e "/sys/class/net/$n/device" ] || continue
    echo "$n"
  done
}

mac_of() { cat "/sys/class/net/$1/address" 2>/dev/null; }

wait_link() {
  # Switch ports with spanning tree take many seconds to forward (SystemImager's ETHER_SLEEP):
  # wait up to imgswarm.netwait seconds for a carrier.
  i=0
  while [ "$i" -lt $((P_NETWAIT * 2)) ]; do
    up=
    for n in $(nics); do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ] && up="$up $n"; done
    [ -n "$up" ] && { echo "$up"; return 0; }
    sleep 0.5
    i=$((i + 1))
  done
  return 1
}

BOOT_IF=
network() {
  ip link set lo up
  for n in $(nics); do ip link set "$n" up; done
  links=$(wait_link) || { echo "imgswarm: no network link on any interface ($(nics | tr '\n' ' ')) after ${P_NETWAIT}s"; return 1; }
  want=$(echo "$P_MAC" | tr 'A-F-' 'a-f:')
  case "$P_IP" in
    '' | dhcp)
      hostopt=
      [ -n "$P_HOST" ] && hostopt="-x hostname:$P_HOST"
      # DHCP on every interface with a link, at once; the first lease wins the default route.
      # A port that just came up may still be blocked by spanning tree for 30-50 s (SystemImager's
      # ETHER_SLEEP lesson): keep asking for imgswarm.netwait seconds, one request every 2 s.
      tries=$(((P_NETWAIT + 1) / 2))
      [ "$tries" -ge 3 ] || tries=3
      for n in $links; do
        udhcpc -i "$n" -n -q -f -t "$tries" -T 2 -A 3 -s /etc/udhcpc.script $hostopt >/run/udhcpc.$n.log 2>&1 &
      done
      wait
      grep -h 'DHCP lease' /run/udhcpc.*.log 2>/dev/null
      for n in $links; do
        if ip -4 addr show dev "$n" | grep -q 'inet '; then
          [ -z "$BOOT_IF" ] && BOOT_IF=$n
          [ -n "$want" ] && [ "$(mac_of "$n")" = "$want" ] && BOOT_IF=$n
        fi
      done
      [ -n "$BOOT_IF" ] || { echo "imgswarm: no DHCP answer on$links"; cat /run/udhcpc.*.log; return 1; }
      ;;
    *)
      # ADDR/PREFIX,GATEWAY[,DNS[,DNS[,DNS]]] (checked again by the client).
      addr=${P_IP%%,*}
      rest=${P_IP#*,}
      gw=${rest%%,*}
      dns=
      [ "$rest" != "$gw" ] && dns=$(echo "${rest#*,}" | tr ',' ' ')
      BOOT_IF=$(echo $links | cut -d' ' -f1)
      if [ -n "$want" ]; then for n in $(nics); do [ "$(mac_of "$n")" = "$want" ] && BOOT_IF=$n; done; fi
      fam=-4
      case "$addr" in *:*) fam=-6 ;; esac
      ip $fam addr add "$addr" dev "$BOOT_IF" || return 1
      ip $fam route add default via "$gw" dev "$BOOT_IF" || return 1
      : >/etc/resolv.conf
      for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
      ;;
  esac
  for n in $(nics); do
    a=$(ip -o addr show dev "$n" scope global | awk '{print $4}' | tr '\n' ' ')
    echo "imgswarm:   $n $(mac_of "$n") $(cat /sys/class/net/$n/operstate) ${a:-no address}"
  done
  return 0
}

# --- the disk ----------------------------------------------------------------
# Without imgswarm.disk=, the one internal disk; with several, a person must choose.
pick_disk() {
  found=
  for d in /sys/block/*; do
    n=${d##*/}
    case "$n" in loop* | ram* | sr* | zram* | dm-* | md* | nbd* | fd*) continue ;; esac
    [ "$(cat "$d/removable" 2>/dev/null)" = 1 ] && continue
    [ "$(cat "$d/size" 2>/dev/null)" -gt 0 ] 2>/dev/null || continue
    found="$found /dev/$n"
  done
  set -- $found
  [ $# -eq 1 ] && { echo "$1"; return 0; }
  [ $# -eq 0 ] && echo "imgswarm: no disk found: check the storage controller (dmesg) or load its module with imgswarm.modules=" >&2
  [ $# -gt 1 ] && echo "imgswarm: several disks ($found ): say which one to install to with imgswarm.disk=/dev/..." >&2
  return 1
}

fail() {
  code=$1
  shift
  echo
  echo "$rule"
  echo "imgswarm: THE INSTALL FAILED: $*"
  [ -n "$code" ] && echo "imgswarm: the client's error and what to do are printed above (exit status $code)."
  echo "imgswarm: nothing was reported as installed; the disk may be partly written."
  echo "$rule"
  say_all "imgswarm: install failed on $(hostname): $*"
  case "$P_POST" in
    poweroff)
      echo "imgswarm: imgswarm.post=poweroff: powering off in 10 s"
      sleep 10
      poweroff -f
      ;;
    reboot)
      echo "imgswarm: imgswarm.post=reboot: rebooting in 30 s"
      sleep 30
      reboot -f
      ;;
  esac
  rescue_shell
}

# --- main --------------------------------------------------------------------
[ -n "$P_HOST" ] && hostname "$P_HOST"
KVER=$(uname -r)
say_all "$rule" " imgswarm installer   kernel $KVER   $(cat /etc/imgswarm/build-id 2>/dev/null)" \
  " server: ${P_SERVER:-(not set: imgswarm.server=)}" "$rule"

step "loading drivers"
load_drivers
step "bringing up the network (${P_IP:-dhcp})"
network || fail "" "the network did not come up (see above); check the cable, the switch port and DHCP"

ARGS=
[ -z "$P_MAC" ] && [ -n "$BOOT_IF" ] && ARGS="$ARGS --mac $(mac_of "$BOOT_IF")"
if [ -z "$P_DISK" ]; then
  disk=$(pick_disk) || fail "" "no disk to install to"
  ARGS="$ARGS --disk $disk"
fi
[ -f /etc/imgswarm/client.toml ] && ARGS="$ARGS --client-config /etc/imgswarm/client.toml"
# Booted by UEFI: GRUB also goes to the removable-media path (EFI/BOOT/BOOTX64.EFI), which every
# firmware boots without a boot entry (the client writes none: --no-nvram).
[ -d /sys/firmware/efi ] && ARGS="$ARGS --removable-efi"

if [ -n "$P_BREAK" ]; then
  echo "imgswarm: imgswarm.break: a shell before the install; exit it to start the install"
  setsid cttyhack sh -l || sh -l
fi

step "starting the install client: imgswarm install$ARGS"
# The same memory settings as bin/imgswarm gives `install` (docs/bench-install.md): small V8
# semi-spaces, and piece buffers mapped on their own so that freeing them returns the memory.
# shellcheck disable=SC2086
MALLOC_MMAP_THRESHOLD_=131072 MALLOC_ARENA_MAX=2 node --max-semi-space-size=16 /imgswarm.mjs install $ARGS
status=$?
if [ "$status" -ne 0 ]; then
  fail "$status" "imgswarm install exited with status $status"
fi
say_all "imgswarm: install done and verified on $(hostname)"
# The client ran the post-action (reboot, poweroff, kexec) itself; we get here after shell or none.
rescue_shell
