#!/usr/bin/env bash
# nfs-up.sh: a real NFS server on 127.0.0.1 for the NFS driver's tests — Debian's user-space
# nfs-ganesha (FSAL VFS, NFSv3 and v4, TCP only) with rpcbind kept on loopback — exporting two
# directories, /export1 and /export2 (two shares, so the scheduler has two pools). This
# machine's kernel has no NFS client: the driver's tests reach the exported directories through
# a substitute mount, and this server, with libnfs-utils and qemu's nfs:// driver, is the judge.
#
#   deploy/nfs/nfs-up.sh     # install the packages if missing, start rpcbind and ganesha
#   deploy/nfs/nfs-down.sh   # stop both by their recorded PIDs
#
# Idempotent (a server in DIR that answers is left alone); every wait is bounded. Everything
# (configuration, exports, logs, PIDs) lives in DIR; rpcbind runs in a private mount namespace
# where /etc/netconfig lists only loopback transports, socket-activated on 127.0.0.1:111 (plain
# rpcbind listens on every address, and `rpcbind -h 127.0.0.1` aborts on Debian 12).
#
# Environment (defaults in brackets):
#   NFS_DIR        the server's directory [/tmp/scoria-nfs]
#   NFS_INSTALL=0  never run apt-get (fail when the packages are missing)
#
# On success DIR/env holds what the tests export:
#   SCORIA_TEST_NFS_SHARES=127.0.0.1:/export1,127.0.0.1:/export2
#   SCORIA_TEST_NFS_EXPORTS=DIR/export1,DIR/export2   (the exported directories, same order)
set -euo pipefail

DIR=${NFS_DIR:-/tmp/scoria-nfs}
PKGS=(nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils)
log() { echo "nfs-up: $*" >&2; }
die() { log "$*"; [ -f "$DIR/log/ganesha.log" ] && tail -n 20 "$DIR/log/ganesha.log" >&2; exit 1; }

answers() { timeout 5 rpcinfo -t 127.0.0.1 nfs 3 >/dev/null 2>&1 && timeout 5 rpcinfo -t 127.0.0.1 mountd 3 >/dev/null 2>&1; }
alive() { local pid; pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

write_env() {
  cat >"$DIR/env" <<ENV
SCORIA_TEST_NFS_SHARES=127.0.0.1:/export1,127.0.0.1:/export2
SCORIA_TEST_NFS_EXPORTS=$DIR/export1,$DIR/export2
ENV
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "${NFS_INSTALL:-1}" = 0 ] && die "missing packages: ${missing[*]}"
  log "installing ${missing[*]}"
  timeout 600 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$DIR"/{export1,export2,recov,log,run}

export_block() { # id name
  cat <<BLOCK
EXPORT {
  Export_Id = $1; Path = $DIR/$2; Pseudo = /$2; Protocols = 3, 4; Transports = TCP;
  Access_Type = RW; Squash = No_Root_Squash; SecType = sys; FSAL { Name = VFS; }
  # No attribute cache: the tests change the exported files behind the server's back (through
  # the bind-mount stand-in), and the server must answer what the directory holds now.
  Attr_Expiration_Time = 0;
  CLIENT { Clients = 127.0.0.1; Access_Type = RW; }
}
BLOCK
}
{
  cat <<CONF
NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1; NFS_Port = 2049; MNT_Port = 20048; Protocols = 3, 4;
  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; mount_path_pseudo = true;
  Plugins_Dir = /usr/lib/x86_64-linux-gnu/ganesha;
}
NFSV4 { Graceless = true; RecoveryRoot = $DIR/recov; Only_Numeric_Owners = true; }
LOG { Default_Log_Level = EVENT; }
CONF
  export_block 1 export1
  export_block 2 export2
} >"$DIR/ganesha.conf.new"
# Up with this very configuration: nothing to do. Up with another one: restarted below.
if alive "$DIR/run/ganesha.pid" && answers && cmp -s "$DIR/ganesha.conf.new" "$DIR/ganesha.conf"; then
  rm -f "$DIR/ganesha.conf.new"
  write_env
  log "already up in $DIR"
  exit 0
fi
mv "$DIR/ganesha.conf.new" "$DIR/ganesha.conf"

# rpcbind, loopback only. A system rpcbind that already answers on 111 is used as it is.
if ! timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
  printf '%s\n' 'tcp tpi_cots_ord v inet tcp - -' 'local tpi_cots_ord - loopback - - -' \
    'unix tpi_cots_ord - loopback - - -' >"$DIR/netconfig"
  rm -f /run/rpcbind.sock /run/rpcbind.lock
  log "starting rpcbind on 127.0.0.1:111"
  setsid unshare -m --propagation private sh -c \
    "mount --bind '$DIR/netconfig' /etc/netconfig && exec systemd-socket-activate -l /run/rpcbind.sock -l 127.0.0.1:111 rpcbind -f" \
    >"$DIR/log/rpcbind.log" 2>&1 </dev/null &
  echo $! >"$DIR/run/rpcbind.pid"
  for _ in $(seq 1 50); do timeout 2 rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.1; done
  timeout 5 rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || die "rpcbind does not answer on 127.0.0.1:111 (see $DIR/log/rpcbind.log)"
fi

if alive "$DIR/run/ganesha.pid"; then # another configuration: stop it, give it 10 s
  old=$(cat "$DIR/run/ganesha.pid")
  kill -TERM "$old" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$old" 2>/dev/null || true
fi
log "starting ganesha"
# ganesha logs two harmless CRIT lines at every start (no dbus, no Kerberos principal).
setsid ganesha.nfsd -F -f "$DIR/ganesha.conf" -L "$DIR/log/ganesha.log" -p "$DIR/run/ganesha.pid" -N NIV_EVENT \
  >/dev/null 2>&1 </dev/null &
echo $! >"$DIR/run/ganesha.pid"
for _ in $(seq 1 100); do answers && break; sleep 0.1; done
answers || die "ganesha does not answer NFSv3 on 127.0.0.1 within 10 s"
write_env
log "ready: 127.0.0.1:/export1 ($DIR/export1), 127.0.0.1:/export2 ($DIR/export2)"
