#!/usr/bin/env bash
# examples/run-demo.sh — `make run`: the embedded default. Prepares the demo
# workload when it is there (examples/housing/prepare.sh) and runs the
# controller on manifests/local in the foreground. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${SELFHEAL_LISTEN:-127.0.0.1:8080}
if [ -x examples/housing/prepare.sh ]; then
    examples/housing/prepare.sh
fi
cat <<MSG
selfheal: running the pipelines in manifests/local (Ctrl-C to stop)
  status:   bin/selfheal status
  metrics:  http://$listen/metrics
  API:      http://$listen/api/v1/pipelines
MSG
exec bin/selfheal run --specs manifests/local --listen "$listen" "$@"
