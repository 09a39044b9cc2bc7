#!/usr/bin/env bash
# ceph-down.sh: stop the test cluster that deploy/ceph/ceph-up.sh made in CEPH_DIR, by the
# PIDs it recorded (never by name: other clusters may run on the machine). OSD first, with a
# clean stop (SIGTERM, then wait) so memstore keeps its data for a restart; SIGKILL only after
# 30 s. The directory stays; CEPH_WIPE=1 removes it too.
set -uo pipefail
DIR=${CEPH_DIR:-/tmp/scoria-ceph}

# running PID NAME: PID is a live (not zombie) ceph-NAME process.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  case "$stat" in "$1 (ceph-${2%%.*}) "[!Z]*) return 0 ;; esac
  return 1
}

stop() { # name
  local f=$DIR/run/$1.pid pid
  pid=$(cat "$f" 2>/dev/null) || return 0
  if [ -n "$pid" ] && running "$pid" "$1"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 300); do
      running "$pid" "$1" || break
      sleep 0.1
    done
    if running "$pid" "$1"; then
      echo "ceph-down: $1 (pid $pid) did not stop in 30s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$f"
}

[ -d "$DIR" ] || exit 0
stop osd.0
stop mgr.x
stop mon.a
if [ "${CEPH_WIPE:-0}" = 1 ]; then
  rm -rf "$DIR"
fi
echo "ceph-down: stopped the cluster in $DIR" >&2
