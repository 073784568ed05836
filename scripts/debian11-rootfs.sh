#!/usr/bin/env bash
# Makes (once) a minimal Debian 11 "bullseye" root file system (glibc 2.31) for the old-Linux
# test (test/unit/sqlite/oldLinux.test.ts): debootstrap --variant=minbase from Debian's mirror
# into a temporary folder beside the cache, renamed to its final name only once debootstrap
# succeeded, so a failed or partial run is never reused. Prints the root's path.
# Usage: scripts/debian11-rootfs.sh [cache folder]   (default: .cache/rootfs)
set -euo pipefail

CACHE="${1:-$(cd "$(dirname "$0")/.." && pwd)/.cache/rootfs}"
ROOT="$CACHE/debian-11"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ -f "$ROOT/.trac-backup-complete" ]]; then
  echo "$ROOT"
  exit 0
fi
mkdir -p "$CACHE"
rm -rf "$ROOT" "$CACHE"/debian-11.partial-*
PARTIAL="$CACHE/debian-11.partial-$$"
trap 'rm -rf "$PARTIAL"' EXIT
debootstrap --variant=minbase bullseye "$PARTIAL" "$MIRROR" >&2
# Only what the test needs from it: its libc and libstdc++ (no apt cache kept).
rm -rf "$PARTIAL/var/cache/apt/archives/"*.deb
date -u +%FT%TZ > "$PARTIAL/.trac-backup-complete"
mv "$PARTIAL" "$ROOT"
trap - EXIT
echo "$ROOT"
