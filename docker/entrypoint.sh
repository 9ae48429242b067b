#!/bin/sh
# Container entry point: bring the schema up to date (Alembic, via `kiemdiem init`), then
# run the given kiemdiem command (default `serve`). Any other command runs without init.
set -eu
if [ "${1:-serve}" = "serve" ]; then
  kiemdiem init
fi
exec kiemdiem "$@"
