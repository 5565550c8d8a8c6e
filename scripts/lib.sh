# shellcheck shell=bash
# Shared by scripts/demo, scripts/bench and scripts/bench-python: a private chronyd pair on
# loopback. A `local stratum 1` reference listens on a free UDP port on all
# loopback addresses; a client chronyd uses it through N sources
# 127.0.0.1 .. 127.0.0.N (all loopback), polling every 0.25 s (up to
# 2^PAIR_MAXPOLL s once settled, if set). Both run with
# -x (the system clock is never touched), with config, socket, pid and drift
# files in a temp dir, and are stopped on exit.
# Also shared by scripts/systemd-packaging and scripts/docker-packaging:
# readme_block, the README's tested command blocks.

# readme_block NAME: the fenced block after `<!-- tested: NAME -->` in
# chrony-exporter/README.md (indented as a list item or not), unindented.
readme_block() {
  awk -v name="$1" '
    { line = $0; sub(/^[ \t]+/, "", line) }
    line == "<!-- tested: " name " -->" { found = 1; indent = length($0) - length(line); next }
    found && line ~ /^```/ { if (inside) exit; inside = 1; next }
    inside { print substr($0, indent + 1) }
  ' "$(dirname "${BASH_SOURCE[0]}")/../chrony-exporter/README.md"
}

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

# wait_settled N: waits (up to 120 s) until all N sources answered their
# last eight polls (reach 377) and chronyd has selected one, and prints
# the poll intervals (log2 s) and samples the sources have.
wait_settled() {
  local n="$1" _ sources
  for _ in $(seq 1 120); do
    sources="$(chronyc -h "$PAIR_SOCKET" -n -c sources)"
    if [ "$(awk -F, '$6 == 377' <<<"$sources" | wc -l)" -ge "$n" ] && grep -q '^\^,\*,' <<<"$sources"; then
      break
    fi
    sleep 1
  done
  echo "# sources: $(awk -F, '$6 == 377' <<<"$sources" | wc -l)/$n reach 377;" \
    "poll (count:log2 s) $(awk -F, '{print $5}' <<<"$sources" | sort -n | uniq -c | awk '{printf "%s:%s ", $1, $2}')" \
    "samples (count:n) $(chronyc -h "$PAIR_SOCKET" -n -c sourcestats | awk -F, '{print $3}' | sort -n | uniq -c | awk '{printf "%s:%s ", $1, $2}')"
}

# pair_quiet MINPOLL: raises every source's minimum poll to MINPOLL
# (log2 s) once the pair has settled, so chronyd's own NTP traffic (128
# sources at the settling polls: hundreds of packets a second on each
# chronyd) does not compete with the requests a benchmark measures; the
# sources take it at their next poll.
pair_quiet() {
  local a
  for a in $(chronyc -h "$PAIR_SOCKET" -n -c sources | awk -F, '{print $3}'); do
    chronyc -h "$PAIR_SOCKET" minpoll "$a" "$1" >/dev/null
  done
  sleep 5
}

PROXY_PID=""
PROXY_FIFO=""
PROXY_ADDRESS=""

# proxy_start UPSTREAM LATENCY_MS: starts the testkit's udp_proxy (built
# by the caller: target/release/examples/udp_proxy) forwarding to UPSTREAM
# and adding LATENCY_MS each way; sets PROXY_ADDRESS. The proxy runs until
# its standard input (fd 9) closes: proxy_stop, or the script's end.
proxy_start() {
  PROXY_FIFO="$(mktemp -u)"
  mkfifo "$PROXY_FIFO"
  "$ROOT/target/release/examples/udp_proxy" --upstream "$1" --latency-ms "$2" \
    < "$PROXY_FIFO" > "$PROXY_FIFO.out" &
  PROXY_PID=$!
  exec 9>"$PROXY_FIFO"
  for _ in $(seq 1 50); do
    grep -q '^PROXY ' "$PROXY_FIFO.out" 2>/dev/null && break
    sleep 0.1
  done
  PROXY_ADDRESS="$(awk '/^PROXY /{print $2}' "$PROXY_FIFO.out")"
}

proxy_stop() {
  [ -n "$PROXY_PID" ] || return 0
  exec 9>&-
  wait "$PROXY_PID" 2>/dev/null || true
  rm -f "$PROXY_FIFO" "$PROXY_FIFO.out"
  PROXY_PID=""
}
