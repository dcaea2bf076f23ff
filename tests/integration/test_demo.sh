#!/usr/bin/env bash
# The end-to-end test (issue 5): `make demo`'s scripted tour — the brief's five
# scenarios injected into the housing demo under a real controller — must heal
# all five.
exec "$(dirname "$0")/demo.sh"
