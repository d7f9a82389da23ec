#!/usr/bin/env bash
# What failed in the last run, short, for the end of scripts/test's output: CI may keep only the
# output's tail, and a failing step's log is printed long before it. For each test class whose
# surefire report counts a failure or an error, the report's first lines (the failing tests and
# the start of each assertion); for a step's log given as an argument, its failure lines (the
# quickstart's "FAILED:", Maven's build errors) and its exit line.
cd "$(dirname "$0")/.."
for f in */target/surefire-reports/*.txt; do
  [ -e "$f" ] || continue
  grep -q '<<< \(FAILURE\|ERROR\)!' "$f" || continue
  echo "----- failed: $f"
  grep -v '^\s*at \(org\.junit\|java\.base\|org\.apache\.maven\)' "$f" | head -40
done
for log in "$@"; do
  [ -e "$log" ] || continue
  echo "----- failure lines of $log"
  grep -E 'test-quickstart: FAILED|^\[ERROR\] (Failed to execute|Tests run:|  [A-Za-z])|===== scripts/test: .*: exit' "$log" | head -40
done
