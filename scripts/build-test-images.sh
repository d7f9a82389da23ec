#!/usr/bin/env bash
# Builds the local test images without any registry: a rootfs of Debian's busybox-static
# imported as local/busybox:1 (and :2, a second tag with a different image ID, for rollouts).
# Idempotent; installs busybox-static when missing (root only).
set -euo pipefail
DOCKER_HOST_ARG=${1:-}

have_image() { docker $DOCKER_HOST_ARG image inspect "$1" >/dev/null 2>&1; }

if have_image local/busybox:1 && have_image local/busybox:2 && have_image local/busybox-health:1; then
  exit 0
fi
if [ ! -x /bin/busybox ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "build-test-images: /bin/busybox missing: apt-get install busybox-static" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq busybox-static >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www"
cp /bin/busybox "$root/bin/busybox"
for applet in sh sleep nc httpd cat ls echo env id wget touch mkdir rm ps kill top grep true false date hostname stat readlink head tail tee test sed wc; do
  ln -sf busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/false" >> "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
echo "ok" > "$root/www/index.html"
tar -C "$root" -c . | docker $DOCKER_HOST_ARG import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - local/busybox:1 >/dev/null
echo "v2" > "$root/www/version"
tar -C "$root" -c . | docker $DOCKER_HOST_ARG import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - local/busybox:2 >/dev/null
# an image with a Docker HEALTHCHECK (healthy once /tmp/healthy exists), built from the local base
mkdir -p "$root/health"
printf 'FROM local/busybox:1\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD test -f /tmp/healthy\n' > "$root/health/Dockerfile"
DOCKER_BUILDKIT=0 docker $DOCKER_HOST_ARG build -q -t local/busybox-health:1 "$root/health" >/dev/null 2>&1
echo "build-test-images: local/busybox:1, local/busybox:2 and local/busybox-health:1 ready" >&2
