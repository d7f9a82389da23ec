#!/usr/bin/env bash
# Makes sure the real clients some tests drive are here, installing what is missing from Debian's
# packages in one apt run (root only):
#   prometheus, promtool     the monitoring test (bench OperatorViewTest) runs its own Prometheus
#   chromium, chromedriver   the dashboard's browser test (e2e DashboardBrowserTest), headless
# Nothing is downloaded at test time beyond these packages. Used by scripts/test.
set -euo pipefail

declare -A package_of=([prometheus]=prometheus [promtool]=prometheus [chromium]=chromium [chromedriver]=chromium-driver)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "ensure-test-tools: missing ${missing[*]} and not root: install those Debian packages; the tests that drive them skip without them" >&2
  exit 0
fi
echo "ensure-test-tools: installing Debian's ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null || { echo "ensure-test-tools: $command still missing after installing ${missing[*]}" >&2; exit 1; }
done
