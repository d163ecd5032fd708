#!/usr/bin/env bash
# Installs introbot from a checkout where a sysadmin looks for things (the
# same places as the .deb from deploy/build-deb):
#   /usr/bin/introbot                              the binary
#   /usr/lib/systemd/system/introbot.service       the unit (override with `systemctl edit introbot`)
#   /etc/introbot/introbot.toml                    the config, 0644: the service reads it, it holds
#                                                  no passwords (kept if it exists)
#   /etc/introbot/credentials/                     root-only (0700): password files imap and smtp,
#                                                  when the config names them
#   /usr/share/introbot/templates/                 the default email templates, to copy and edit
#   /usr/share/doc/introbot/                       README, BENCHMARKS, examples/ (config, drop-ins)
#   /usr/share/man/man1/introbot*.1.gz             man pages, and shell completions
#
# Usage: deploy/install.sh [--no-build]
#   DESTDIR=/tmp/pkg  stage into a directory instead of / (then nothing is reloaded)
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
  # Earlier versions installed it 0640, which the service's dynamic user cannot read.
  chmod a+r "$DESTDIR/etc/introbot/introbot.toml"
else
  install -m 0644 config/introbot.example.toml "$DESTDIR/etc/introbot/introbot.toml"
fi
install -d -m 0755 "$DESTDIR/usr/share/introbot/templates"
install -m 0644 config/templates/*.j2 "$DESTDIR/usr/share/introbot/templates/"
install -D -m 0644 README.md "$DESTDIR/usr/share/doc/introbot/README.md"
install -D -m 0644 BENCHMARKS.md "$DESTDIR/usr/share/doc/introbot/BENCHMARKS.md"
install -D -m 0644 config/introbot.example.toml "$DESTDIR/usr/share/doc/introbot/examples/introbot.toml"
install -D -m 0644 deploy/maildir.conf "$DESTDIR/usr/share/doc/introbot/examples/maildir.conf"

# Man pages and completions come from the binary being installed.
docs=$(mktemp -d)
trap 'rm -rf "$docs"' EXIT
"$BIN" generate-docs "$docs"
gzip -9n "$docs"/man1/*.1
install -d -m 0755 "$DESTDIR/usr/share/man/man1"
install -m 0644 "$docs"/man1/*.1.gz "$DESTDIR/usr/share/man/man1/"
install -D -m 0644 "$docs/completions/bash/introbot" "$DESTDIR/usr/share/bash-completion/completions/introbot"
install -D -m 0644 "$docs/completions/zsh/_introbot" "$DESTDIR/usr/share/zsh/vendor-completions/_introbot"
install -D -m 0644 "$docs/completions/fish/introbot.fish" "$DESTDIR/usr/share/fish/vendor_completions.d/introbot.fish"

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

cat >&2 <<'NEXT'
introbot installed. Next (README, "Running it for real"):
  1. sudoedit /etc/introbot/introbot.toml     (address, connectors, mail servers)
  2. passwords, only if the config names them (password_credential = "imap" / "smtp"):
     sudo install -m 600 /dev/null /etc/introbot/credentials/imap && sudoedit /etc/introbot/credentials/imap
  3. sudo introbot check
  4. sudo systemctl enable --now introbot
  5. journalctl -u introbot -f
NEXT
