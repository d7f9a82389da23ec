#!/usr/bin/env bash
# Writes agent/cds/ds-agent.classlist: the classes a ds-agent loads on this host's Docker while it
# joins a coordinator, runs pods with exec and HTTP probes, streams a pod's log and leaves. bin/ds-agent
# makes the agent's class-data archive from it (docs/agent.md, "Footprint"). Run it again when the
# agent's dependencies change (AgentClassListTest says when too many listed classes are gone).
# Needs the built jars (mvn -q package -DskipTests), Docker and root; uses 127.0.0.1:7651.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/ensure-docker.sh >&2
scripts/build-test-images.sh >&2
work=$(mktemp -d)
node=classlist-$$
coordinator=
agent=
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null || true
  [ -n "$coordinator" ] && kill "$coordinator" 2>/dev/null || true
  docker ps -aq --filter "label=io.dsfleet.node=$node" | xargs -r docker rm -f >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export DSCTL_COORDINATOR=127.0.0.1:7651 DSCTL_CREDENTIALS=$work/coordinator/pki/admin.pem
bin/ds-coordinator serve --listen "$DSCTL_COORDINATOR" --data-dir "$work/coordinator" --config /dev/null/none >"$work/coordinator.log" 2>&1 &
coordinator=$!
for _ in $(seq 1 100); do [ -f "$work/coordinator/pki/join-token" ] && bin/dsctl version >/dev/null 2>&1 && break; sleep 0.2; done
flags=$(sed -n 's/^Environment="DS_AGENT_JAVA_OPTS=\(.*\)"$/\1/p' systemd/ds-agent.service)
# shellcheck disable=SC2086
DS_AGENT_JOIN_TOKEN=$(cat "$work/coordinator/pki/join-token") java $flags -XX:DumpLoadedClassList="$work/agent.classlist" \
  -jar agent/target/ds-agent.jar run --coordinator "$DSCTL_COORDINATOR" --node-name "$node" --state-dir "$work/agent" \
  --config /dev/null/none --address 127.0.0.1 --leave-on-shutdown >"$work/agent.log" 2>&1 &
agent=$!
cat >"$work/ds.yaml" <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: classlist-probes}
spec:
  selector: {matchLabels: {app: classlist-probes}}
  template:
    metadata: {labels: {app: classlist-probes}}
    spec:
      containers:
      - name: web
        image: local/busybox:1
        command: [sh, -c, "echo up; httpd -f -p 8080 -h /www"]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        livenessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
EOF
bin/dsctl apply -f "$work/ds.yaml" >/dev/null
bin/dsctl rollout status ds/classlist-probes --timeout=120 >/dev/null
sleep 5
bin/dsctl logs ds/classlist-probes >/dev/null || true
bin/dsctl delete ds classlist-probes >/dev/null
sleep 3
kill "$agent"
wait "$agent" || true
agent=
{
  echo "# The classes ds-agent loads (scripts/agent-classlist.sh, $(java -version 2>&1 | head -n 1), $(git rev-parse --short HEAD))."
  grep -v '^#' "$work/agent.classlist"
} >agent/cds/ds-agent.classlist
echo "wrote agent/cds/ds-agent.classlist: $(grep -vc '^[#@]' agent/cds/ds-agent.classlist) classes"
