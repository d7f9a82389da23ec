#!/usr/bin/env bash
# Makes sure Prometheus and promtool are here for the monitoring test (bench OperatorViewTest):
# installs Debian's prometheus package when they are missing (root only). The test runs its own
# Prometheus on a port of its own, whatever the package's service does. Used by scripts/test.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-prometheus: no prometheus/promtool here and not root: install Debian's prometheus package; the monitoring test skips without it" >&2
  exit 0
fi
echo "ensure-prometheus: installing Debian's prometheus (for promtool and the monitoring test)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null && command -v promtool >/dev/null
