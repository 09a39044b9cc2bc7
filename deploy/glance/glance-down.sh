#!/usr/bin/env bash
# glance-down.sh: stop the test Glance that deploy/glance/glance-up.sh started, by its recorded
# PID ($GLANCE_DIR/run/glance-api.pid), and nothing else. Its data, database and Keystone
# objects stay. Bounded: SIGTERM, then SIGKILL after 20 s.
set -euo pipefail
DIR=${GLANCE_DIR:-/tmp/scoria-glance}
pidfile=$DIR/run/glance-api.pid
say() { echo "glance-down: $*"; }
if [ ! -s "$pidfile" ]; then say "nothing recorded in $pidfile"; exit 0; fi
pid=$(cat "$pidfile")
# Only a glance-api process: a PID reused by something else is left alone.
if ! kill -0 "$pid" 2>/dev/null || ! grep -q glance-api "/proc/$pid/cmdline" 2>/dev/null; then
  say "PID $pid is not running glance-api"; rm -f "$pidfile" "$DIR/run/glance-api.conf.sha256"; exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then say "PID $pid still up after 20 s: SIGKILL"; kill -KILL "$pid"; fi
rm -f "$pidfile" "$DIR/run/glance-api.conf.sha256"
say "stopped PID $pid"
