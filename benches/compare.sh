#!/usr/bin/env bash
# Whole-server comparison: frontdesk builds and the Python peer
# (benches/peer/) driven by the same loadgen, one after another, on the
# same machine, in one run.
#
#   benches/compare.sh [options] NAME=SERVER[,models=DIR] ...
#
# SERVER is a frontdesk binary, or `python` for the peer
# (benches/peer/server.py run by --peer-python). Example:
#
#   benches/compare.sh --models /work/bench/old/models \
#       old=/work/bench/old/frontdesk new=target/release/frontdesk peer=python
#
# For every connection count the servers run one after another (in
# reverse order every second round, so that a machine that drifts faster
# or slower during the run favours none of them); each is started on a
# free port with a fresh data directory (frontdesk with the benchmark
# configuration of docs/benchmarks.md: raised rate and connection limits),
# its time from spawn to `/readyz` 200 and its resident memory at rest are
# recorded, then, once the machine is quiet, `loadgen --connections C` runs
# with `--server-pid`, and the server is stopped. The CPU use of the whole
# machine during each run is recorded too. Prints a Markdown table and the
# ratios new/peer and new/old (when servers of those names ran; with
# several rounds, of the medians, with each round's ratio), and writes the
# same to --out.
#
# Options:
#   --loadgen PATH        loadgen binary (default target/release/loadgen)
#   --connections "LIST"  connection counts (default "1 8 32 64")
#   --messages N          messages per connection for every count (default:
#                         300, 150, 60, 40 for 1, 8, 32, 64 as in
#                         docs/benchmarks.md, else 60)
#   --duration SECS       upper bound of each loadgen run (default 60)
#   --rounds N            run everything N times, interleaved (default 1)
#   --models DIR          models directory for every server (default: each
#                         server's own default); NAME=SERVER,models=DIR
#                         overrides it for one server
#   --peer-python PATH    python with the peer's requirements
#                         (default /tmp/peer-venv/bin/python)
#   --out FILE            results file (default bench-results/compare-DATE.md)
#   --quiet-idle PCT      idle share that counts as quiet (default 90)
#   --quiet-timeout SECS  give up waiting for quiet after this (default 120)
#   --ready-timeout SECS  give up waiting for /readyz after this (default 300)
#   --keep-logs           keep the servers' logs and data directories
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

loadgen="$root/target/release/loadgen"
connections="1 8 32 64"
messages=""
duration=60
rounds=1
models=""
peer_python="/tmp/peer-venv/bin/python"
out=""
quiet_idle=90
quiet_timeout=120
ready_timeout=300
keep_logs=0
servers=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --loadgen) loadgen="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --messages) messages="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --models) models="$2"; shift 2 ;;
        --peer-python) peer_python="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --quiet-idle) quiet_idle="$2"; shift 2 ;;
        --quiet-timeout) quiet_timeout="$2"; shift 2 ;;
        --ready-timeout) ready_timeout="$2"; shift 2 ;;
        --keep-logs) keep_logs=1; shift ;;
        -h|--help) usage 0 ;;
        *=*) servers+=("$1"); shift ;;
        *) echo "compare.sh: unknown argument $1" >&2; usage 2 >&2 ;;
    esac
done
[[ ${#servers[@]} -gt 0 ]] || { echo "compare.sh: name at least one server, e.g. old=PATH peer=python" >&2; exit 2; }
[[ -x "$loadgen" ]] || { echo "compare.sh: no loadgen at $loadgen (--loadgen PATH)" >&2; exit 2; }
[[ -n "$out" ]] || out="$root/bench-results/compare-$(date -u +%Y%m%dT%H%M%SZ).md"
mkdir -p "$(dirname "$out")"

work="$(mktemp -d /tmp/fd-compare.XXXXXX)"
results="$work/results.tsv"
: >"$results"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $keep_logs -eq 0 ]]; then rm -rf "$work"; else echo "compare.sh: logs kept in $work" >&2; fi
}
trap cleanup EXIT

log() { echo "compare.sh: $*" >&2; }

# "busy idle" jiffies of the whole machine from /proc/stat (idle = idle + iowait).
cpu_sample() { awk '/^cpu /{idle=$5+$6; total=0; for(i=2;i<=NF;i++) total+=$i; print total-idle, idle; exit}' /proc/stat; }

# Busy share in % between two samples.
busy_pct() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN{busy=c-a; idle=d-b; t=busy+idle; printf "%.0f", (t > 0 ? 100 * busy / t : 0)}'; }

# Wait until the machine is idle >= quiet_idle % over 5 s; prints the idle %
# of the last window, with "!" when it gave up.
wait_quiet() {
    local start=$SECONDS b1 i1 b2 i2 idle
    while :; do
        read -r b1 i1 < <(cpu_sample)
        sleep 5
        read -r b2 i2 < <(cpu_sample)
        idle=$((100 - $(busy_pct "$b1" "$i1" "$b2" "$i2")))
        if (( idle >= quiet_idle )); then echo "$idle"; return; fi
        if (( SECONDS - start >= quiet_timeout )); then
            log "machine still busy (idle ${idle} %) after ${quiet_timeout} s; running anyway"
            echo "${idle}!"; return
        fi
    done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

default_messages() {
    case "$1" in 1) echo 300 ;; 8) echo 150 ;; 32) echo 60 ;; 64) echo 40 ;; *) echo 60 ;; esac
}

# start NAME SERVER MODELS PORT DATA LOG: starts the server in the
# background and sets server_pid.
start_server() {
    local name="$1" server="$2" mdir="$3" port="$4" data="$5" logf="$6"
    if [[ "$server" == python ]]; then
        local args=(--port "$port" --data "$data")
        [[ -n "$mdir" ]] && args+=(--models "$mdir")
        "$peer_python" "$root/benches/peer/server.py" "${args[@]}" >"$logf" 2>&1 &
    else
        local config="$work/$name.toml"
        {
            echo '[limits]'
            echo 'messages_per_second = 10000.0'
            echo 'message_burst = 10000'
            echo 'connections_per_ip = 1024'
            echo 'conversations_per_minute = 100000'
            echo 'conversation_burst = 100000'
            if [[ -n "$mdir" ]]; then
                echo '[models]'
                echo "dir = \"$(cd "$mdir" && pwd)\""
            fi
        } >"$config"
        FRONTDESK_OPERATOR_TOKEN=bench-operator-token-0123456789 \
            "$server" --config "$config" --data-dir "$data" --addr "127.0.0.1:$port" >"$logf" 2>&1 &
    fi
    server_pid=$!
}

stop_server() {
    [[ -n "$server_pid" ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

rss_mib() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo ""; }

for round in $(seq 1 "$rounds"); do
for c in $connections; do
    order=("${servers[@]}")
    if (( round % 2 == 0 )); then
        order=(); for ((i=${#servers[@]}-1; i>=0; i--)); do order+=("${servers[i]}"); done
    fi
    for spec in "${order[@]}"; do
        name="${spec%%=*}"
        rest="${spec#*=}"
        server="${rest%%,*}"
        mdir="$models"
        if [[ "$rest" == *,models=* ]]; then mdir="${rest#*,models=}"; fi
        if [[ "$server" != python && ! -x "$server" ]]; then
            log "$name: $server is not an executable; skipped"; continue
        fi
        m="${messages:-$(default_messages "$c")}"
        port="$(free_port)"
        data="$work/$name-$c-$round-data"
        logf="$work/$name-$c-$round.log"
        rm -rf "$data"
        t0=$(date +%s.%N)
        start_server "$name" "$server" "$mdir" "$port" "$data" "$logf"
        ready=""
        while :; do
            if ! kill -0 "$server_pid" 2>/dev/null; then
                log "$name exited before it was ready; its log:"; tail -20 "$logf" >&2; server_pid=""; break
            fi
            code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
            if [[ "$code" == 200 ]]; then ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'); break; fi
            if awk -v a="$t0" -v b="$(date +%s.%N)" -v t="$ready_timeout" 'BEGIN{exit !(b-a>t)}'; then
                log "$name not ready after ${ready_timeout} s"; stop_server; break
            fi
            sleep 0.1
        done
        [[ -n "$ready" ]] || continue
        quiet=$(wait_quiet)
        rest_rss=$(rss_mib "$server_pid")
        log "$name: ready in ${ready} s, RSS ${rest_rss} MiB; loadgen --connections $c --messages $m (idle before: ${quiet} %)"
        read -r b1 i1 < <(cpu_sample)
        lg="$work/$name-$c-$round.loadgen"
        "$loadgen" --url "ws://127.0.0.1:$port/v1/chat" --connections "$c" --messages "$m" \
            --duration-secs "$duration" --server-pid "$server_pid" >"$lg" 2>&1 || log "$name: loadgen failed"
        read -r b2 i2 < <(cpu_sample)
        machine=$(busy_pct "$b1" "$i1" "$b2" "$i2")
        stop_server
        cat "$lg" >&2
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$c" "$m" "$ready" "$rest_rss" "$machine" "$quiet" "$lg" "$round" >>"$results"
    done
done
done

python3 - "$results" "$out" "$(uname -n) $(nproc) cores" <<'EOF'
import re, sys

results, out, machine = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
for line in open(results):
    name, conns, msgs, ready, rest, cpu, quiet, path, rnd = line.rstrip("\n").split("\t")
    text = open(path, errors="replace").read()
    def num(pattern, default=None):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else default
    def lat(label):
        m = re.search(rf"^{label}\s+n=(\d+)\s+p50=\s*([\d.]+) ms\s+p90=\s*([\d.]+) ms\s+p99=\s*([\d.]+) ms\s+max=\s*([\d.]+) ms", text, re.M)
        return (float(m.group(2)), float(m.group(4))) if m else (None, None)
    errors = {}
    for code, n in re.findall(r"^error (\S+): (\d+)$", text, re.M):
        errors[code] = int(n)
    if not re.search(r"^errors: none$", text, re.M) and not errors:
        errors["loadgen_output"] = 1
    rows.append(dict(
        name=name, conns=int(conns), msgs=int(msgs), ready=float(ready), round=int(rnd),
        rest=float(rest) if rest else None, cpu=cpu, quiet=quiet,
        turns=num(r"^turns: (\d+) in"), tps=num(r"turns: \d+ in [\d.]+ s = ([\d.]+) turns/s"),
        handed=num(r"^conversations handed to the agent queue: (\d+)"),
        ack=lat("message→ack"), reply=lat("message→reply"), errors=errors,
        peak=num(r"peak RSS \(VmHWM\) ([\d.]+) MiB"),
        server_cpu=num(r"^server CPU: (\d+)% of one core"),
    ))

def f(v, d=1):
    return "–" if v is None else f"{v:.{d}f}"

lines = [f"Machine: {machine}. loadgen per row: `--connections C --messages M`; "
         "fresh server and data directory per row.", "",
         "| server | round | conns | msgs/conn | turns | turns/s | ack p50 / p99 (ms) | reply p50 / p99 (ms) | handed over | errors | ready (s) | RSS rest / peak (MiB) | server CPU (% of a core) | machine CPU (idle before) |",
         "|---|---:|---:|---:|---:|---:|---|---|---:|---|---:|---|---:|---|"]
for r in rows:
    errs = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
    lines.append(
        f"| {r['name']} | {r['round']} | {r['conns']} | {r['msgs']} | {f(r['turns'], 0)} | **{f(r['tps'])}** | "
        f"{f(r['ack'][0])} / {f(r['ack'][1])} | {f(r['reply'][0])} / {f(r['reply'][1])} | "
        f"{f(r['handed'], 0)} | {errs} | {r['ready']:.2f} | {f(r['rest'])} / {f(r['peak'])} | "
        f"{f(r['server_cpu'], 0)} | {r['cpu']} % ({r['quiet']} % idle) |")

def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

# (name, conns) -> the runs of every round, in round order.
runs = {}
for r in sorted(rows, key=lambda r: r["round"]):
    runs.setdefault((r["name"], r["conns"]), []).append(r)
names = {r["name"] for r in rows}
rounds = max(r["round"] for r in rows) if rows else 1
for a, b in (("new", "peer"), ("new", "old"), ("old", "peer")):
    if a in names and b in names and not (a == "old" and "new" in names):
        head = f"Ratio {a}/{b}" + (f", of the medians of {rounds} rounds (each round's ratio of turns/s in brackets)" if rounds > 1 else "")
        lines += ["", head + ":", "",
                  "| conns | turns/s | reply p50 | reply p99 | peak RSS |", "|---:|---:|---:|---:|---:|"]
        for c in sorted({r["conns"] for r in rows}):
            x, y = runs.get((a, c)), runs.get((b, c))
            if not x or not y:
                continue
            def ratio(p, q):
                return f"{p / q:.2f}×" if p is not None and q else "–"
            def med(rs, key, i=None):
                return median([r[key] if i is None else r[key][i] for r in rs])
            tps = ratio(med(x, "tps"), med(y, "tps"))
            if rounds > 1:
                each = ", ".join(ratio(p["tps"], q["tps"]) for p, q in zip(x, y))
                tps += f" ({each})"
            lines.append(f"| {c} | {tps} | {ratio(med(x, 'reply', 0), med(y, 'reply', 0))} | "
                         f"{ratio(med(x, 'reply', 1), med(y, 'reply', 1))} | {ratio(med(x, 'peak'), med(y, 'peak'))} |")
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
open(out, "w").write(text)
EOF
log "results written to $out"
