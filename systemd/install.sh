#!/bin/sh
# Installs a latchkey binary as a systemd service on a board. Run as root:
#   sh install.sh ./latchkey-linux-arm64
set -eu
bin=${1:?usage: install.sh <latchkey binary>}
install -m 0755 "$bin" /usr/local/bin/latchkey
getent group gpio >/dev/null || groupadd --system gpio
id latchkey >/dev/null 2>&1 || useradd --system --home-dir /var/lib/latchkey --shell /usr/sbin/nologin --groups gpio,dialout,input latchkey
install -d -m 0750 -o root -g latchkey /etc/latchkey
[ -f /etc/latchkey/node.yaml ] || printf 'node:\n  name: %s\n  dataDir: /var/lib/latchkey\nhardware:\n  gpio: auto\n' "$(hostname)" > /etc/latchkey/node.yaml
here=$(dirname "$0")
install -m 0644 "$here/latchkey.service" /etc/systemd/system/latchkey.service
install -m 0644 "$here/99-latchkey.rules" /etc/udev/rules.d/99-latchkey.rules
udevadm control --reload-rules && udevadm trigger || true
systemctl daemon-reload
systemctl enable latchkey.service
echo "installed; edit /etc/latchkey/node.yaml, then: systemctl start latchkey"
