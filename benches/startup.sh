#!/usr/bin/env bash
# Start-up to ready: time from spawning a frontdesk binary to its first
# `/readyz` 200, for a first start on an empty data directory and for
# restarts of the same directory (unchanged model, intents and FAQ).
#
#   benches/startup.sh [--restarts N] [--config FILE] NAME=BINARY ...
#
# Each binary gets its own fresh data directory. Prints one Markdown row
# per binary: first start, then the median and range of the restarts, and
# the resident memory after the last restart is ready.
set -euo pipefail

restarts=5
config=""
servers=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --restarts) restarts="$2"; shift 2 ;;
        --config) config="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *=*) servers+=("$1"); shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ ${#servers[@]} -gt 0 ]] || { echo "usage: $0 [--restarts N] [--config FILE] NAME=BINARY ..." >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start BINARY DATA: prints "seconds-to-ready rss-mib", stops the server.
start_once() {
    local binary="$1" data="$2" port
    port="$(free_port)"
    local args=(--data-dir "$data" --addr "127.0.0.1:$port")
    [[ -n "$config" ]] && args+=(--config "$config")
    local t0 t1
    t0="$(date +%s.%N)"
    FRONTDESK_OPERATOR_TOKEN=bench-operator-token-0123456789 "$binary" "${args[@]}" >"$data.log" 2>&1 &
    local pid=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; do
        kill -0 "$pid" 2>/dev/null || { echo "server exited; see $data.log" >&2; exit 1; }
        sleep 0.01
    done
    t1="$(date +%s.%N)"
    local rss
    rss="$(awk '/^VmRSS:/{printf "%.0f", $2/1024}' "/proc/$pid/status")"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$(echo "$t1 - $t0" | bc -l) $rss"
}

echo "| server | first start (s) | restart, median of $restarts (s) | restart range (s) | RSS when ready (MiB) |"
echo "|---|---:|---:|---|---:|"
for spec in "${servers[@]}"; do
    name="${spec%%=*}" binary="${spec#*=}"
    data="$(mktemp -d)/data"
    read -r first _ < <(start_once "$binary" "$data")
    times=()
    rss=""
    for _ in $(seq 1 "$restarts"); do
        read -r t rss < <(start_once "$binary" "$data")
        times+=("$t")
    done
    sorted="$(printf '%s\n' "${times[@]}" | sort -g)"
    median="$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    lo="$(echo "$sorted" | head -1)" hi="$(echo "$sorted" | tail -1)"
    printf '| %s | %.2f | %.2f | %.2f–%.2f | %s |\n' "$name" "$first" "$median" "$lo" "$hi" "$rss"
    rm -rf "$(dirname "$data")"
done
