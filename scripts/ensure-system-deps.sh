#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those missing:
# chromium (the browser Playwright drives), ripgrep (VS Code's search, instead of the download
# code-server's postinstall would do), libkrb5-dev (headers for VS Code's kerberos module),
# the toolchain node-gyp uses to build code-server's native modules, and procps (ps, which the
# live-Trac check uses where there is no /proc, tested here too), PostgreSQL and MariaDB (servers
# the tests start themselves in temporary folders, and the dump tools a backup runs), debootstrap
# (the Debian 11 root file system the old-Linux test runs the CLI in), binutils (objdump: npm run
# package reads the GLIBC/GLIBCXX versions each Linux binary needs), xfsprogs and e2fsprogs
# (mkfs.xfs for a loop-mounted XFS with reflink, where copy-on-write clones are tested, and
# filefrag, which shows the blocks a clone shares), restic (offsite copies: Debian 12's 0.14 is the
# oldest the tool supports), openssh-server and openssh-client (the offsite tests' throwaway SFTP
# server on 127.0.0.1, and ssh-keygen for its keys).
set -euo pipefail

PACKAGES=(chromium ripgrep libkrb5-dev python3 make g++ fonts-liberation procps postgresql mariadb-server mariadb-client debootstrap binutils xfsprogs e2fsprogs restic openssh-server openssh-client)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages present: ${PACKAGES[*]}"
  exit 0
fi

SUDO=()
[[ "$(id -u)" -eq 0 ]] || SUDO=(sudo)
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

