#!/usr/bin/env bash
# Fails when the last run skipped a test that .ci/allowed-skips does not list. CI has Docker, root,
# systemd-analyze and ../shared/manifests, so a test that skips there has lost what it needs: that
# is a failure, not a pass. Reads surefire's reports; prints every skip with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
allowed=.ci/allowed-skips
skips=$(for f in */target/surefire-reports/TEST-*.xml; do
  [ -e "$f" ] || continue
  awk '
    /<testcase / { match($0, /name="[^"]*"/); name = substr($0, RSTART + 6, RLENGTH - 7)
                   match($0, /classname="[^"]*"/); cls = substr($0, RSTART + 11, RLENGTH - 12) }
    /<skipped/   { reason = $0; sub(/.*<skipped[^>]*>(<!\[CDATA\[)?/, "", reason); sub(/^[^:]*Exception: /, "", reason)
                   print cls "#" name "\t" reason }
  ' "$f"
done)
unexpected=0
while IFS=$'\t' read -r test reason; do
  [ -n "$test" ] || continue
  if grep -v '^#' "$allowed" | awk '{print $1}' | grep -qxF "$test"; then
    echo "check-skips: skipped, as $allowed allows: $test ($reason)"
  else
    echo "check-skips: SKIPPED and not allowed: $test ($reason)" >&2
    unexpected=$((unexpected + 1))
  fi
done <<<"$skips"
if [ "$unexpected" -gt 0 ]; then
  echo "check-skips: $unexpected skipped tests are not in $allowed: give CI what they need, or list them there with why" >&2
  exit 1
fi
echo "check-skips: no test skipped outside $allowed"
