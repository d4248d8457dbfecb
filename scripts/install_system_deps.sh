#!/usr/bin/env bash
# Debian packages Open3D needs: libusb to import, Vulkan/Mesa and EGL/GL for off-screen
# rendering, libgomp for its OpenMP kernels. Installs only what is missing, and only as
# root; otherwise says what to install and carries on (the rendering tests then skip).
set -euo pipefail
packages=(libusb-1.0-0 libvulkan1 mesa-vulkan-drivers libegl1 libgl1 libgomp1)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "pointea: Open3D needs these system packages: ${missing[*]} (install them as root)" >&2
    exit 0
fi
echo "pointea: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
