#!/usr/bin/env bash
# nfs-down.sh: stop the NFS test server deploy/nfs/nfs-up.sh started in NFS_DIR, by its recorded
# PIDs (ganesha, then rpcbind), SIGKILL after 10 s each. The exported directories stay.
set -uo pipefail
DIR=${NFS_DIR:-/tmp/scoria-nfs}
stop() {
  local pid
  pid=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
  fi
  rm -f "$DIR/run/$1.pid"
  stopped=$1
}
stopped=
stop ganesha
stopped=
stop rpcbind
# Only the rpcbind started here leaves its socket and lock to remove; another one keeps them.
if [ "$stopped" = rpcbind ]; then rm -f /run/rpcbind.sock /run/rpcbind.lock; fi
