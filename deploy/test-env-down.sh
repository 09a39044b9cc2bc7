#!/usr/bin/env bash
# test-env-down.sh: stop what deploy/test-env.sh started, by the PIDs it recorded — never by
# name, and nothing that was already running when it ran: MariaDB, RabbitMQ and tgtd from
# $SCORIA_TEST_STATE [/tmp/scoria-test-env], Keystone's and Barbican's uwsgi from their
# /run/scoria-*-uwsgi.pid, Ceph with deploy/ceph/ceph-down.sh (its data stays in $CEPH_DIR),
# the NFS server with deploy/nfs/nfs-down.sh (ganesha and rpcbind by the PIDs in $NFS_DIR/run;
# the exported directories stay), Glance with deploy/glance/glance-down.sh (by the PID in
# $GLANCE_DIR/run).
# Every wait is bounded (30 s per daemon, then SIGKILL). Packages stay installed.
set -uo pipefail
cd "$(dirname "$0")/.."
STATE=${SCORIA_TEST_STATE:-/tmp/scoria-test-env}
log() { echo "test-env-down: $*" >&2; }

# stop NAME PIDFILE: TERM the recorded process, wait for it, KILL it after 30 s.
stop() {
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$1 (pid $pid) did not stop in 30 s: killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$2"
}

deploy/nfs/nfs-down.sh
deploy/glance/glance-down.sh
deploy/ceph/ceph-down.sh
stop Barbican /run/scoria-barbican-uwsgi.pid
stop "Keystone (short tokens)" /run/scoria-keystone-short-uwsgi.pid
stop Keystone /run/scoria-keystone-uwsgi.pid
stop tgtd "$STATE/tgtd.pid"
stop RabbitMQ "$STATE/rabbitmq.pid"
stop MariaDB "$STATE/mariadb.pid"
