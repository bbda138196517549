#!/usr/bin/env bash
# npm test: build, lint (module boundaries included), then unit, integration and
# end-to-end tests of every project against the local RabbitMQ and PostgreSQL.
# Every test file makes its own database and queue prefix, so runs never see
# each other's or `npm start`'s data.
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_TUI=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true FORCE_COLOR=0
export TEST_TALLY_FILE="$(mktemp)" TEST_FAILURES_FILE="$(mktemp)"
status=0
step() { echo; echo "=== $*"; }

step "build"
npm run build && npm run build:test || { echo "build failed"; exit 1; }

step "lint (module boundaries)"
npm run lint || status=1

step "workspace checks"
node tools/run-tests.mjs tools spec || status=1

step "Prometheus configuration and alert rule tests (promtool)"
if command -v promtool >/dev/null; then
  # --syntax-only: the scrape jobs' credentials_file (the admin token) exists only where Prometheus runs (compose mounts it)
  (cd deploy/prometheus && promtool check config --syntax-only prometheus.yml && promtool check rules alerts.yml && promtool test rules alerts.test.yml) || status=1
else
  echo "promtool not found (Debian package prometheus; .ci/run installs it)"; status=1
fi

step "unit tests"
npx nx run-many -t test --parallel=2 --outputStyle=stream || status=1

step "integration tests (real RabbitMQ and PostgreSQL)"
npx nx run-many -t test:integration --parallel=2 --outputStyle=stream || status=1

step "messaging integration tests again, on quorum queues (QUEUE_TYPE=quorum)"
(cd libs/messaging && TEST_QUEUE_TYPE=quorum node ../../tools/run-tests.mjs dist-test int-spec) || status=1

step "end-to-end tests (services as processes)"
npx nx run-many -t test:e2e --parallel=1 --outputStyle=stream || status=1

read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$TEST_TALLY_FILE")
rm -f "$TEST_TALLY_FILE"
[ "$failed" -gt 0 ] && status=1
echo
cat "$TEST_FAILURES_FILE"
rm -f "$TEST_FAILURES_FILE"
echo "tests: ${passed} passed, ${failed} failed"
exit $status
