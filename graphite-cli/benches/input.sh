#!/usr/bin/env bash
# The CLI's input path as a whole process, next to its baseline.
#
# `graphite send --runtime blocking < FILE` of a million `metric value
# timestamp` lines into a loopback receiver that reads and discards, against
# `cat FILE > /dev/tcp/...` into the same receiver: the two in turn, RUNS
# pairs, each run timed from start to exit (and `cat FILE > /dev/null`
# before each pair: cat's floor without the socket). Prints each one's
# median wall time and lines per second, and the median of the pairs'
# ratios (graphite's rate as a fraction of cat's; issue 18 asks for at
# least 0.23).
#
#   graphite-cli/benches/input.sh [RUNS] [GRAPHITE_BINARY]
#
# Without GRAPHITE_BINARY it builds and uses the release binary of this
# checkout. Needs bash (for /dev/tcp) and python3 (the receiver). The
# machine is shared: quote medians and ratios, not one run.
set -euo pipefail

runs=${1:-7}
here=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $# -ge 2 ]]; then
    graphite=$2
else
    cargo build --quiet --release -p graphite-cli --manifest-path "$here/Cargo.toml"
    graphite="${CARGO_TARGET_DIR:-$here/target}/release/graphite"
fi

work=$(mktemp -d)
receiver_pid=
cleanup() {
    [[ -n $receiver_pid ]] && kill "$receiver_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A million lines: 1,000 series at 1,000 timestamps (25 MB), as the bulk test.
awk 'BEGIN { for (t = 0; t < 1000; t++) for (i = 0; i < 1000; i++)
             printf "bulk.s%d %d %d\n", i, i, 1700000000 + t }' > "$work/input"
lines=$(wc -l < "$work/input")

# The receiver, the same for both: accepts every connection and reads it
# to the end into one reused 4 MiB buffer (`recv_into`: no allocation and
# no fresh pages per read, so that it is not what holds `cat` back).
cat > "$work/receiver.py" <<'EOF'
import socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
def drain(c):
    buf = bytearray(4 << 20)
    with c:
        while c.recv_into(buf):
            pass
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
EOF
mkfifo "$work/port"
python3 "$work/receiver.py" > "$work/port" &
receiver_pid=$!
read -r port < "$work/port"

# Wall seconds of one run of "$@", its output discarded.
wall() {
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null
    end=$(date +%s%N)
    echo "$(( end - start ))"
}

run_cat() { bash -c "cat '$work/input' > /dev/tcp/127.0.0.1/$port"; }
# What cat costs without the socket: if cat into the receiver takes much
# longer than this, the receiver (or the loopback) is what limits cat.
run_cat_null() { bash -c "cat '$work/input' > /dev/null"; }
run_graphite() { "$graphite" send --runtime blocking --to "127.0.0.1:$port" < "$work/input"; }

# One warm-up each (page cache, the receiver's threads), then the pairs.
run_cat; run_graphite
cat_ns=(); null_ns=(); graphite_ns=(); ratios=()
for ((i = 0; i < runs; i++)); do
    null_ns+=("$(wall run_cat_null)")
    c=$(wall run_cat)
    g=$(wall run_graphite)
    cat_ns+=("$c"); graphite_ns+=("$g")
    ratios+=("$(awk -v c="$c" -v g="$g" 'BEGIN { printf "%.4f", c / g }')")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cat_med=$(median "${cat_ns[@]}")
null_med=$(median "${null_ns[@]}")
graphite_med=$(median "${graphite_ns[@]}")
echo "input: $lines lines, $(wc -c < "$work/input") bytes; $runs runs each, in turn"
awk -v n="$lines" -v c="$cat_med" -v g="$graphite_med" -v z="$null_med" 'BEGIN {
    printf "floor    cat > /dev/null     median %7.1f ms  %6.2f M lines/s\n", z / 1e6, n / z * 1e3
    printf "baseline cat > /dev/tcp      median %7.1f ms  %6.2f M lines/s\n", c / 1e6, n / c * 1e3
    printf "graphite send (blocking)     median %7.1f ms  %6.2f M lines/s\n", g / 1e6, n / g * 1e3
}'
echo "RATIO graphite_vs_cat (rate, median of pairs): $(median "${ratios[@]}")  [pairs: $(printf '%s ' "${ratios[@]}")]"
