#!/usr/bin/env bash
# The full test suite: installs the system packages the tests drive for real
# (age, pigz, OpenSSH server, rsync, PostgreSQL, Ceph's RADOS Gateway, mkfs tools, Chromium), builds, and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "test: the suite must run as root: it starts a real sshd that logs in as root, mounts small tmpfs" >&2
  echo "test: filesystems for the usb target, and installs missing system packages with apt-get" >&2
  exit 1
fi

need=()
command -v age >/dev/null || need+=(age)
command -v pigz >/dev/null || need+=(pigz)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v rsync >/dev/null || need+=(rsync)
command -v rclone >/dev/null || need+=(rclone)   # rclone serve sftp: an SFTP server other than OpenSSH
command -v sqlite3 >/dev/null || need+=(sqlite3)
# Real filesystem images for the usb target's label/UUID reader (checked against blkid, mounted on loop devices).
command -v blkid >/dev/null || need+=(util-linux)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v mkfs.exfat >/dev/null || need+=(exfatprogs)
command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
command -v systemd-analyze >/dev/null || need+=(systemd)   # `systemd-analyze verify` checks the units `ferry systemd` writes
command -v zsh >/dev/null || need+=(zsh)         # `ferry completion zsh` is loaded into a real zsh
command -v fish >/dev/null || need+=(fish)       # and `ferry completion fish` into a real fish
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# A single-node Ceph cluster with a RADOS Gateway: the real S3 server of the s3 tests.
command -v ceph-mon >/dev/null || need+=(ceph-mon)
command -v ceph-osd >/dev/null || need+=(ceph-osd)
command -v radosgw >/dev/null || need+=(radosgw)
{ command -v ceph && command -v ceph-authtool && command -v monmaptool; } >/dev/null || need+=(ceph-common)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the dashboard's page tests drive it with playwright-core
if [ ${#need[@]} -gt 0 ]; then
  echo "test: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || echo "test: apt-get update failed; trying the install anyway" >&2
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    for pkg in "${need[@]}"; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || echo "test: apt-get could not install the package \"$pkg\"; install it by hand, the suite needs it" >&2
    done
    exit 1
  fi
fi

[ -d node_modules ] || npm install --no-audit --no-fund
npm run build
npx tsc -p tsconfig.test.json   # the tests and benchmarks type-check too
exec npx vitest run "$@"
