#!/bin/sh
# An administrator's own network setup: quotes 'x' "y", $(cmd), `cmd`, $VAR
VMSHIFT_ADMIN_SCRIPT_END
ip addr add 192.0.2.10/24 dev "$(basename "$(readlink -f /sys/class/net/eth0)")"
