#!/usr/bin/env bash
# The README's first command, tested as a user runs it: bin/quickstart, then bin/quickstart down.
# Checks that the example pod runs (Running and Ready in `dsctl get pods`, its containers in
# `docker ps`, its port answering), that every file in examples/ passes `dsctl validate` and runs
# (applied, rolled out, its pod Ready on this node), and that after `down` nothing is left: no
# process, no container of the quickstart's node, no .quickstart/.
# It refuses to run beside a quickstart of yours (.quickstart/ exists, or port 7443 or 19100 is
# taken): `down` would take yours down too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
fail() {
  echo "test-quickstart: FAILED: $*" >&2
  exit 1
}
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
[ ! -e .quickstart ] || fail ".quickstart/ exists: a quickstart runs here; bin/quickstart down first (this test would take it down)"
for port in 7443 19100; do
  ! taken "$port" || fail "port $port is taken: the quickstart needs it (is a quickstart or coordinator of yours running?)"
done

upped=0
finish() {
  rc=$?
  if [ "$upped" = 1 ]; then
    if [ "$rc" != 0 ]; then
      echo "---- .quickstart/coordinator.log (last 30 lines)"; tail -30 .quickstart/coordinator.log 2>/dev/null || true
      echo "---- .quickstart/agent.log (last 30 lines)"; tail -30 .quickstart/agent.log 2>/dev/null || true
    fi
    bin/quickstart down >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap finish EXIT

# dsctl's class-data archive (docs/dsctl.md, "Start-up") in this build's target/, not the user's ~/.cache
export DSCTL_CDS_DIR=$repo/target/dsctl-cds
echo "test-quickstart: bin/quickstart"
upped=1
bin/quickstart
export DSCTL_COORDINATOR=127.0.0.1:7443 DSCTL_CREDENTIALS=$repo/.quickstart/coordinator/pki/admin.pem
node=$(bin/dsctl get nodes | awk 'NR == 2 { print $1 }')
[ -n "$node" ] || fail "no node in dsctl get nodes"
pod=$(bin/dsctl get pods | awk -v n="$node" '$1 ~ /^node-metrics-/ && $2 == "1/1" && $3 == "Running" { print $1 }')
[ -n "$pod" ] || fail "no node-metrics pod 1/1 Running in dsctl get pods: $(bin/dsctl get pods)"
running=$(docker ps --filter "label=io.dsfleet.node=$node" --filter "label=io.dsfleet.pod=$pod" --format '{{.Names}}')
# one container, no sandbox: the exporter alone on the bridge, its hostPort published on it (docs/agent.md)
[ "$(wc -l <<<"$running")" = 1 ] && [[ $running == *_exporter_* ]] || fail "docker ps shows not the pod's exporter alone: $running"
exec 3<>/dev/tcp/127.0.0.1/19100
printf 'GET /cgi-bin/metrics HTTP/1.0\r\n\r\n' >&3
metrics=$(timeout 10 cat <&3) || true
exec 3<&-
grep -q "^node_" <<<"$metrics" || fail "the pod's port 19100 did not answer with metrics: $metrics"
echo "test-quickstart: $pod Running in dsctl get pods and docker ps, serving on :19100"

# every example at once (a dsctl call is a JVM): validated, applied, then each DaemonSet rolled out
files=()
for f in examples/*.yaml; do files+=(-f "$f"); done
validated=$(bin/dsctl validate "${files[@]}") || fail "dsctl validate ${files[*]}: $validated"
applied=$(bin/dsctl apply "${files[@]}") || fail "dsctl apply ${files[*]}: $applied"
daemonsets=$(sed -n 's|^daemonset/\([^ ]*\) .*|\1|p' <<<"$applied")
[ "$(wc -w <<<"$daemonsets")" = "$(grep -l "^kind: DaemonSet" examples/*.yaml | wc -l)" ] \
  || fail "not every example's DaemonSet was applied: $applied"
for ds in $daemonsets; do
  bin/dsctl rollout status "ds/$ds" --timeout 120 >/dev/null || fail "ds/$ds did not roll out: $(bin/dsctl describe ds "$ds")"
done
pods=$(bin/dsctl get pods)
for ds in $daemonsets; do
  awk -v d="$ds-" 'index($1, d) == 1 && $3 == "Running" { found = 1 } END { exit !found }' <<<"$pods" \
    || fail "no Running pod of $ds: $pods"
  echo "test-quickstart: ds/$ds valid, rolled out and Running"
done

echo "test-quickstart: bin/quickstart down"
upped=0
bin/quickstart down
[ ! -e .quickstart ] || fail ".quickstart/ left after down"
left=$(docker ps -a --filter "label=io.dsfleet.node=$node" --format '{{.Names}}')
[ -z "$left" ] || fail "containers of node $node left after down: $left"
! pgrep -f "$repo/.quickstart" >/dev/null || fail "processes left after down: $(pgrep -af "$repo/.quickstart")"
! taken 7443 || fail "port 7443 still served after down"
echo "test-quickstart: passed: up, the example pod and every example running, down leaves nothing"
