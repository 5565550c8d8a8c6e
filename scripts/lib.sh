# shellcheck shell=bash
# Shared by scripts/demo and scripts/bench: a private chronyd pair on
# loopback. A `local stratum 1` reference listens on a free UDP port on all
# loopback addresses; a client chronyd uses it through N sources
# 127.0.0.1 .. 127.0.0.N (all loopback), polling every 0.25 s (up to
# 2^PAIR_MAXPOLL s once settled, if set). Both run with
# -x (the system clock is never touched), with config, socket, pid and drift
# files in a temp dir, and are stopped on exit.

PAIR_PIDS=()
PAIR_DIR=""

# A free UDP port on 127.0.0.1.
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pair_cleanup() {
  local p
  for p in "${PAIR_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PAIR_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$PAIR_DIR" ] && rm -rf "$PAIR_DIR"
  PAIR_PIDS=()
  PAIR_DIR=""
}

# pair_start N: starts the pair with N sources; sets PAIR_SOCKET (the
# client's command socket) and waits until the client is synchronized.
# With PAIR_CMDPORT set, the client also serves commands on
# 127.0.0.1:PAIR_CMDPORT (UDP).
pair_start() {
  local n="${1:-1}" port k
  PAIR_DIR="$(mktemp -d /tmp/chrony-pair.XXXXXX)"
  port="$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$PAIR_DIR/server" "$PAIR_DIR/client/sock"
  chmod 770 "$PAIR_DIR/client/sock"
  cat > "$PAIR_DIR/server/chrony.conf" <<CONF
local stratum 1
allow 127.0.0.0/8
port $port
cmdport 0
bindcmdaddress $PAIR_DIR/server/chronyd.sock
pidfile $PAIR_DIR/server/chronyd.pid
driftfile $PAIR_DIR/server/drift
CONF
  {
    for k in $(seq 1 "$n"); do
      echo "server 127.0.0.$k port $port iburst minpoll -2 maxpoll ${PAIR_MAXPOLL:--2}"
    done
    cat <<CONF
port 0
cmdport ${PAIR_CMDPORT:-0}
maxsamples 16
bindcmdaddress $PAIR_DIR/client/sock/chronyd.sock
pidfile $PAIR_DIR/client/chronyd.pid
driftfile $PAIR_DIR/client/drift
CONF
  } > "$PAIR_DIR/client/chrony.conf"
  chronyd -x -d -u root -f "$PAIR_DIR/server/chrony.conf" 2>"$PAIR_DIR/server/log" & PAIR_PIDS+=($!)
  chronyd -x -d -u root -f "$PAIR_DIR/client/chrony.conf" 2>"$PAIR_DIR/client/log" & PAIR_PIDS+=($!)
  PAIR_SOCKET="$PAIR_DIR/client/sock/chronyd.sock"
  for _ in $(seq 1 150); do
    if [ -S "$PAIR_SOCKET" ] && chronyc -h "$PAIR_SOCKET" -n -c tracking 2>/dev/null | grep -qv '^00000000,'; then
      return 0
    fi
    sleep 0.2
  done
  echo "chronyd did not synchronize; its log:" >&2
  cat "$PAIR_DIR/client/log" >&2
  return 1
}
