#!/usr/bin/env bash
# Installs introbot where a sysadmin looks for things:
#   /usr/bin/introbot                              the binary
#   /usr/lib/systemd/system/introbot.service       the unit (override with `systemctl edit introbot`)
#   /etc/introbot/introbot.toml                    the config (kept if it exists)
#   /etc/introbot/credentials/                     imap and smtp password files (mode 0600)
#   /usr/share/introbot/templates/                 the default email templates, to copy and edit
#   /usr/share/doc/introbot/                       README, BENCHMARKS
#
# Usage: deploy/install.sh [--no-build]
#   DESTDIR=/tmp/pkg  stage into a directory (for packaging) instead of /
#   INTROBOT_BIN=...  install this binary instead of target/release/introbot
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DESTDIR=${DESTDIR:-}

if [ "${1:-}" != "--no-build" ] && [ -z "${INTROBOT_BIN:-}" ]; then
  cargo build --release --locked
fi
BIN=${INTROBOT_BIN:-target/release/introbot}
[ -x "$BIN" ] || { echo "install: no binary at $BIN (build it, or set INTROBOT_BIN)" >&2; exit 1; }

install -D -m 0755 "$BIN" "$DESTDIR/usr/bin/introbot"
install -D -m 0644 deploy/introbot.service "$DESTDIR/usr/lib/systemd/system/introbot.service"
install -d -m 0755 "$DESTDIR/etc/introbot"
install -d -m 0700 "$DESTDIR/etc/introbot/credentials"
if [ -e "$DESTDIR/etc/introbot/introbot.toml" ]; then
  echo "install: keeping the existing /etc/introbot/introbot.toml" >&2
else
  install -m 0640 config/introbot.example.toml "$DESTDIR/etc/introbot/introbot.toml"
fi
install -d -m 0755 "$DESTDIR/usr/share/introbot/templates"
install -m 0644 config/templates/*.j2 "$DESTDIR/usr/share/introbot/templates/"
install -D -m 0644 README.md "$DESTDIR/usr/share/doc/introbot/README.md"
install -D -m 0644 BENCHMARKS.md "$DESTDIR/usr/share/doc/introbot/BENCHMARKS.md"

cat >&2 <<'NEXT'
introbot installed. Next:
  1. edit /etc/introbot/introbot.toml (address, connectors, mail servers); point
     password_file at /run/credentials/introbot.service/imap and .../smtp
  2. put the passwords in /etc/introbot/credentials/imap and .../smtp (mode 0600)
  3. introbot check --config /etc/introbot/introbot.toml
  4. systemctl daemon-reload && systemctl enable --now introbot
  5. journalctl -u introbot -f
NEXT
