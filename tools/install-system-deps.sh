#!/usr/bin/env bash
# Debian packages some tests use: Fashion-MNIST (found offline in /usr/share/datasets) and Chromium (renders
# report.html in a real browser; Playwright drives it through the `numpynn serve` pages, with no browser download),
# PostgreSQL (`numpynn tune --storage postgresql://...`: its test starts a server of its own from the binaries).
# Installed when this machine allows it; the tests that need them skip otherwise.
set -u
packages=(dataset-fashion-mnist chromium postgresql)
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: skipping ${packages[*]}"; exit 0; }
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "not root: skipping ${missing[*]} (the tests that use them will be skipped)"; exit 0; fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
  || echo "could not install ${missing[*]}; the tests that use them will be skipped"
exit 0
