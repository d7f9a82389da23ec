#!/usr/bin/env bash
# Installs (or uninstalls) dsfleet from a built checkout: jars, launchers on the PATH, systemd
# units, default configs and environment files.
#
#   systemd/install.sh [install]      needs the built jars (mvn package)
#   systemd/install.sh uninstall      keeps /etc/dsfleet and the state directories
#   systemd/install.sh purge          uninstall, and remove the configs too
#
# DESTDIR=/some/root installs into that root (for packaging and tests); PREFIX (default /usr).
# An existing config that differs from the default is never overwritten: the new default is put
# next to it as FILE.dist. The services are not enabled or started: `systemctl enable --now ds-agent`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
lib="$DESTDIR$PREFIX/share/dsfleet"
bindir="$DESTDIR$PREFIX/bin"
unitdir="$DESTDIR/lib/systemd/system"
etc="$DESTDIR/etc"

config() { # config SRC DEST [MODE]: install a config unless an edited one is there
  local src=$1 dest=$2 mode=${3:-0644}
  mkdir -p "$(dirname "$dest")"
  if [ -e "$dest" ] && ! cmp -s "$src" "$dest"; then
    install -m "$mode" "$src" "$dest.dist"
    echo "kept edited $dest (new default in $dest.dist)"
  else
    install -m "$mode" "$src" "$dest"
  fi
}

launcher() { # launcher NAME: the bin/ launcher, pointed at the installed jars
  sed "s|\${DSFLEET_LIB:-\$here/../[a-z]*/target}|\${DSFLEET_LIB:-$PREFIX/share/dsfleet}|" "$repo/bin/$1" > "$bindir/$1"
  chmod 0755 "$bindir/$1"
}

reload() {
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
}

case "${1:-install}" in
  install)
    for jar in coordinator/target/ds-coordinator.jar agent/target/ds-agent.jar; do
      [ -f "$repo/$jar" ] || { echo "install.sh: $repo/$jar not found; build first: mvn -q package -DskipTests" >&2; exit 1; }
    done
    mkdir -p "$lib" "$bindir" "$unitdir"
    install -m 0644 "$repo/coordinator/target/ds-coordinator.jar" "$repo/agent/target/ds-agent.jar" "$repo/agent/cds/ds-agent.classlist" "$lib/"
    for b in dsctl ds-agent ds-coordinator; do launcher "$b"; done
    install -m 0644 "$here/ds-agent.service" "$here/ds-coordinator.service" "$unitdir/"
    config "$here/agent.yaml" "$etc/dsfleet/agent.yaml" 0600 # it holds the join token
    config "$here/coordinator.yaml" "$etc/dsfleet/coordinator.yaml"
    config "$here/ds-agent.default" "$etc/default/ds-agent" 0600 # DS_AGENT_JOIN_TOKEN may be set here
    config "$here/ds-coordinator.default" "$etc/default/ds-coordinator"
    reload
    echo "installed into ${DESTDIR:-/}; start with: systemctl enable --now ds-agent (or ds-coordinator)"
    ;;
  uninstall|purge)
    rm -f "$lib/ds-coordinator.jar" "$lib/ds-agent.jar" "$lib/ds-agent.classlist" "$bindir/dsctl" "$bindir/ds-agent" "$bindir/ds-coordinator" \
      "$unitdir/ds-agent.service" "$unitdir/ds-coordinator.service"
    rmdir "$lib" 2>/dev/null || true
    if [ "$1" = purge ]; then
      rm -rf "$etc/dsfleet" "$etc/default/ds-agent" "$etc/default/ds-coordinator"
    fi
    reload
    echo "uninstalled from ${DESTDIR:-/}$([ "$1" = purge ] && echo ' (configs removed)' || echo ' (configs in /etc/dsfleet kept)')"
    ;;
  *)
    echo "usage: systemd/install.sh [install|uninstall|purge]" >&2
    exit 2
    ;;
esac
