#!/bin/sh
# Entrypoint of the chrony-testkit chronyd image.
#
# chronyd ALWAYS runs with -x (it never adjusts the clock) and in the
# foreground (-d). The configuration comes either from a file given in
# CHRONY_CONF (e.g. written by the harness into a bind-mounted directory) or is
# generated from these environment variables:
#
#   CHRONY_ROLE       "server" (reference: local stratum 1 + allow) or "client"
#   CHRONY_PORT       NTP port to serve on (server role; default 123)
#   CHRONY_ALLOW      subnet allowed to use the NTP server (default: all)
#   CHRONY_SERVERS    whitespace-separated "ADDR[:PORT]" list (client role)
#   CHRONY_POLL       minpoll/maxpoll for the servers (default -2)
#   CHRONY_REFCLOCKS  whitespace-separated SOCK paths -> "refclock SOCK PATH"
#   CHRONY_CMDSOCKET  absolute path of the command socket (bindcmdaddress)
#   CHRONY_CMDPORT    UDP command port (default 0 = disabled)
#   CHRONY_CMDALLOW   subnet allowed to use the UDP command port
#   CHRONY_EXTRA      extra raw configuration lines (newline-separated)
#   CHRONY_STATEDIR   private directory for drift/pid files (default /run/chrony-testkit)
#
# Any arguments are appended to the chronyd command line.
set -eu

state="${CHRONY_STATEDIR:-/run/chrony-testkit}"
mkdir -p "$state"
chmod 0750 "$state"

if [ -n "${CHRONY_CONF:-}" ]; then
    conf="$CHRONY_CONF"
else
    conf="$state/chrony.conf"
    {
        echo "driftfile $state/chrony.drift"
        echo "pidfile $state/chronyd.pid"
        echo "cmdport ${CHRONY_CMDPORT:-0}"
        if [ -n "${CHRONY_CMDALLOW:-}" ]; then
            echo "cmdallow $CHRONY_CMDALLOW"
        fi
        if [ -n "${CHRONY_CMDSOCKET:-}" ]; then
            echo "bindcmdaddress $CHRONY_CMDSOCKET"
        else
            echo "bindcmdaddress $state/chronyd.sock"
        fi
        case "${CHRONY_ROLE:-client}" in
            server)
                echo "local stratum 1"
                echo "port ${CHRONY_PORT:-123}"
                if [ -n "${CHRONY_ALLOW:-}" ]; then
                    echo "allow $CHRONY_ALLOW"
                else
                    echo "allow all"
                fi
                ;;
            client)
                poll="${CHRONY_POLL:--2}"
                for s in ${CHRONY_SERVERS:-}; do
                    case "$s" in
                        *:*) echo "server ${s%:*} port ${s##*:} iburst minpoll $poll maxpoll $poll" ;;
                        *) echo "server $s iburst minpoll $poll maxpoll $poll" ;;
                    esac
                done
                for r in ${CHRONY_REFCLOCKS:-}; do
                    echo "refclock SOCK $r"
                done
                ;;
            *)
                echo "unknown CHRONY_ROLE: ${CHRONY_ROLE}" >&2
                exit 2
                ;;
        esac
        if [ -n "${CHRONY_EXTRA:-}" ]; then
            printf '%s\n' "$CHRONY_EXTRA"
        fi
    } > "$conf"
fi

exec chronyd -d -x -u root -f "$conf" "$@"
