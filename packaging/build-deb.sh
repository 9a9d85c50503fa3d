#!/usr/bin/env bash
# Builds target/debian/touchless_<version>_<arch>.deb: the binary from the
# dist profile (the release build's code), stripped, its line tables and
# symbols kept in target/debian/touchless.debug (gdb and addr2line find them
# through the binary's debug link),
# the hardened systemd unit, /etc/touchless/touchless.toml, logrotate, shell
# completions. Needs only cargo, binutils' objcopy and Debian's dpkg-deb.
#
#   packaging/build-deb.sh
#   sudo apt install ./target/debian/touchless_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)
cargo build --profile dist --locked --bin touchless
mkdir -p target/debian
objcopy --only-keep-debug target/dist/touchless target/debian/touchless.debug
bin=target/debian/touchless
objcopy --strip-all --add-gnu-debuglink=target/debian/touchless.debug target/dist/touchless "$bin"

stage=target/debian/touchless_${version}_${arch}
rm -rf "$stage"
install -D -m 0755 "$bin" "$stage/usr/bin/touchless"
install -D -m 0644 packaging/touchless.service "$stage/lib/systemd/system/touchless.service"
install -D -m 0640 packaging/touchless.toml "$stage/etc/touchless/touchless.toml"
install -D -m 0644 packaging/touchless.logrotate "$stage/etc/logrotate.d/touchless"
install -D -m 0644 README.md "$stage/usr/share/doc/touchless/README.md"
install -D -m 0644 ARCHITECTURE.md "$stage/usr/share/doc/touchless/ARCHITECTURE.md"
"$bin" config example | install -D -m 0644 /dev/stdin "$stage/usr/share/doc/touchless/touchless.example.toml"
"$bin" completions bash | install -D -m 0644 /dev/stdin "$stage/usr/share/bash-completion/completions/touchless"
"$bin" completions zsh | install -D -m 0644 /dev/stdin "$stage/usr/share/zsh/vendor-completions/_touchless"
"$bin" completions fish | install -D -m 0644 /dev/stdin "$stage/usr/share/fish/vendor_completions.d/touchless.fish"

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: touchless
Version: $version
Architecture: $arch
Maintainer: touchless developers <touchless@example.org>
Installed-Size: $size
Depends: libc6 (>= 2.34), passwd
Recommends: logrotate
Section: net
Priority: optional
Homepage: https://github.com/touchless/touchless
Description: zero-touch provisioning for IP phones
 A redirection service (SRAPS API v1 with Hawk), a touchless-provisioning
 daemon with a durable registration queue, and a provisioning server for
 Snom phones, with a web console, in one binary on SQLite or PostgreSQL.
CONTROL
echo /etc/touchless/touchless.toml > "$stage/DEBIAN/conffiles"
echo /etc/logrotate.d/touchless >> "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd touchless >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/touchless \
            --no-create-home --shell /usr/sbin/nologin touchless
    fi
    # The service reads its config; only root writes it.
    chgrp touchless /etc/touchless/touchless.toml
    chmod 0640 /etc/touchless/touchless.toml
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable touchless.service >/dev/null
    systemctl restart touchless.service
fi
POSTINST
cat > "$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop touchless.service || true
    systemctl disable touchless.service >/dev/null || true
fi
PRERM
cat > "$stage/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
# The data (/var/lib/touchless) is kept, even on purge: it holds the
# database. Remove it by hand once it is backed up.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
POSTRM
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

deb=target/debian/touchless_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "binary $(stat -c %s "$bin") bytes; debug file target/debian/touchless.debug $(stat -c %s target/debian/touchless.debug) bytes"
echo "package $deb: $(du -k "$deb" | cut -f1) KiB"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'
