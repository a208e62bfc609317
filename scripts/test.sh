#!/usr/bin/env bash
# The project's one test command (README, `npm test`, .ci/run): type-check, build, fetch what the
# integration tests need, run every vitest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.test.json
npx tsc -p tsconfig.json
# Kafka: fetch the broker jars from Maven Central up front (first run ~1 min; skipped without java/mvn,
# and the Kafka suites then say why they skipped). The tests start the broker; stop it when the run ends.
if command -v java >/dev/null && command -v mvn >/dev/null; then bash scripts/kafka/broker.sh fetch; fi
trap 'bash scripts/kafka/broker.sh stop >/dev/null 2>&1 || true' EXIT
npx vitest run "$@"
