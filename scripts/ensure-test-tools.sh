#!/usr/bin/env bash
# Makes sure every Debian package the tests need is here, installing what is missing after one
# index update (root only; the engine with the packages Debian recommends beside it, as
# `apt-get install docker.io` does, the others without):
#   docker.io                  the Docker engine (scripts/ensure-docker.sh then only starts it)
#   busybox-static             the rootfs of the local test images (scripts/build-test-images.sh)
#   systemd                    systemd-analyze verify (packaging tests, on the unit files)
#   prometheus, promtool       the monitoring test (bench OperatorViewTest) runs its own Prometheus
#   chromium, chromedriver     the dashboard's browser test (e2e DashboardBrowserTest), headless
# Nothing is downloaded at test time beyond these packages. Used by scripts/test.
set -euo pipefail

declare -A package_of=([dockerd]=docker.io [systemd-analyze]=systemd [prometheus]=prometheus [promtool]=prometheus
  [chromium]=chromium [chromedriver]=chromium-driver)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
[ "${#missing[@]}" -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "ensure-test-tools: missing ${missing[*]} and not root: install those Debian packages; the tests that drive them skip without them" >&2
  exit 0
fi
echo "ensure-test-tools: installing Debian's ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
others=()
for package in "${missing[@]}"; do
  [ "$package" = docker.io ] || others+=("$package")
done
if [ "${#others[@]}" -lt "${#missing[@]}" ]; then
  apt-get install -y -qq docker.io >/dev/null
fi
if [ "${#others[@]}" -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${others[@]}" >/dev/null
fi
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null || { echo "ensure-test-tools: $command still missing after installing ${missing[*]}" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "ensure-test-tools: /bin/busybox still missing after installing ${missing[*]}" >&2; exit 1; }
