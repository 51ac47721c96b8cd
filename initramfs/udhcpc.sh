#!/bin/sh
# udhcpc event script of the imgswarm boot image: sets the leased address,
# the default route and the DNS servers (busybox's udhcpc calls it).
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound | renew)
    ip -4 addr flush dev "$interface"
    ip -4 addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    if [ -n "$router" ]; then
      # The first lease (of several NICs) sets the default route; later ones do not replace it.
      ip -4 route show default | grep -q . || ip -4 route add default via "${router%% *}" dev "$interface"
    fi
    if [ -n "$dns" ] && [ ! -s /etc/resolv.conf ]; then
      for d in $dns; do echo "nameserver $d"; done >/etc/resolv.conf
      [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    fi
    echo "imgswarm:   $interface: DHCP lease $ip/${mask:-24}${router:+ via $router} from ${serverid:-?}"
    ;;
esac
exit 0
