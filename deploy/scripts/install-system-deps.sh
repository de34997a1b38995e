#!/usr/bin/env bash
# Installs the system packages the tests need on a Debian 12 machine without Docker:
# Valkey 8 (from bookworm-backports), nginx and wrk. Idempotent: a second run installs nothing.
set -euo pipefail

need=()
command -v valkey-server >/dev/null 2>&1 || need+=(valkey)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${need[*]} — run this script as root, or install valkey-server (bookworm-backports), nginx and wrk yourself" >&2
  exit 1
fi

# Valkey is only in bookworm-backports: add that suite, reusing the mirror this machine already uses.
if [[ " ${need[*]} " == *" valkey "* ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v security | awk '{print $2}' | head -1 || true)
  mirror=${mirror:-$(grep -hoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)}
  if [ -z "$mirror" ]; then echo "cannot find the Debian mirror in /etc/apt/sources.list*" >&2; exit 1; fi
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
    > /etc/apt/sources.list.d/bookworm-backports.sources
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pkgs=()
for n in "${need[@]}"; do
  case $n in
    valkey) apt-get install -y -qq -t bookworm-backports valkey-server >/dev/null ;;
    *) pkgs+=("$n") ;;
  esac
done
[ ${#pkgs[@]} -gt 0 ] && apt-get install -y -qq "${pkgs[@]}" >/dev/null
# The packages start system services we do not use; the tests start their own on free ports.
for s in valkey-server nginx; do systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true; done
exit 0
