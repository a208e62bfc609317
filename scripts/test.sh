#!/usr/bin/env bash
# The project's one test command (README, `npm test`, .ci/run): type-check, build, start what the
# integration tests need, run every vitest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.test.json
npx tsc -p tsconfig.json
npx vitest run "$@"
