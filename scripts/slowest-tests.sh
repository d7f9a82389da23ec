#!/usr/bin/env bash
# The ten slowest test classes of the last run (from surefire's reports), slowest first, so the
# next slowdown is seen where it happens.
cd "$(dirname "$0")/.."
for f in */target/surefire-reports/TEST-*.xml; do
  [ -e "$f" ] || continue
  sed -n 's/^<testsuite[^>]* name="\([^"]*\)"[^>]* time="\([0-9.,]*\)".*/\2 \1/p; s/^<testsuite[^>]* time="\([0-9.,]*\)"[^>]* name="\([^"]*\)".*/\1 \2/p' "$f" | head -1
done | tr -d , | sort -rn | head -10 | awk 'BEGIN { print "slowest test classes (s):" } { printf "  %8.1f  %s\n", $1, $2 }'
# and the ten that cost most CPU (the JVM's and its reaped children's, common's ClassCpu): the run
# is bound by the machine's cores, so these, not the slowest, are where its time can be cut
cat */target/class-cpu/*.txt 2>/dev/null | sort -rn | head -10 | awk 'NR == 1 { print "test classes that cost most CPU (s):" } { printf "  %8.1f  %s\n", $1, $2 }'
