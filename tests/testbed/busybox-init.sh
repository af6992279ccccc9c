#!/bin/sh
# /sbin/init of the lxdstar test-bed image (busybox-static).
#
# LXD stops a container by sending SIGPWR to its init and waits (then kills it
# after a timeout). busybox sh only runs a trap between commands, so init must
# not idle in a foreground `sleep`: it idles in `wait`, which a trapped signal
# interrupts at once, so `lxc stop` returns in milliseconds.

# LXC usually mounts these already; mount them only when missing.
[ -e /proc/self ] || mount -t proc proc /proc
[ -e /sys/kernel ] || mount -t sysfs sysfs /sys 2>/dev/null

trap 'kill $! 2>/dev/null; exit 0' PWR TERM INT

while :; do
	sleep 2147483647 &
	wait $!
done
