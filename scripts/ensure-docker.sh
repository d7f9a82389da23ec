#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock: installs Debian's docker.io when
# dockerd is missing (root only), starts dockerd when it is not running, waits for `docker info`.
# Does nothing when Docker already runs. Used by .ci/run and bin/quickstart.
set -euo pipefail

docker_ok() { docker info >/dev/null 2>&1; }

if docker_ok; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-docker: no Docker engine here and not root: install Docker (e.g. apt-get install docker.io) and start it" >&2
    exit 1
  fi
  echo "ensure-docker: installing Debian's docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: dockerd is installed but not running, and starting it needs root" >&2
  exit 1
fi
echo "ensure-docker: starting dockerd (log: /var/log/dsfleet-dockerd.log)" >&2
nohup dockerd >/var/log/dsfleet-dockerd.log 2>&1 &
for _ in $(seq 1 120); do
  docker_ok && exit 0
  sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 60 s; last log lines:" >&2
tail -20 /var/log/dsfleet-dockerd.log >&2
exit 1
