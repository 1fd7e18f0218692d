#!/usr/bin/env bash
# Issue 19's differential test of system-call hijacking: runs the command
# list ci/hijack-list.sh once in a host temporary directory and once under
# `rumpsp run` in a tmpfs mounted in the rump kernel (/rump/tmp/hijack), and
# compares the two transcripts step by step. Then times `cp -r` of a 50 MB
# tree into the rump kernel against the same copy on the host. Then (issue
# 18) runs `python3 -m http.server` under `rumpsp run --sockets inet` on a
# fresh `rumpsp serve --components vfs,tmpfs,net,local,inet` and fetches
# from it with python3 urllib and curl, each under `rumpsp run --sockets
# inet`, checking the bytes and that the host never had the port.
#   ci/hijack.sh                  against a fresh `rumpsp serve`
#   ci/hijack.sh --server URL     against any server (e.g. a real NetBSD
#                                 rump_server -lrumpvfs -lrumpfs_tmpfs)
# Exit status 1 when a step's output differs, 2 when the harness cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
server=""
if [[ "${1:-}" == "--server" ]]; then server="${2:?--server needs a URL}"; fi

# sqlite3 is part of the list (it needs fcntl locks and fsync); install it where missing.
if ! command -v sqlite3 >/dev/null && command -v apt-get >/dev/null; then
    (apt-get install -y -q sqlite3 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q sqlite3 >/dev/null 2>&1; }) \
        || echo "hijack: could not install sqlite3; its step compares 'not installed'"
fi
cargo build --release --quiet --bin rumpsp
cargo build --release --quiet -p rumpsp-hijack
bin=$root/target/release/rumpsp
export RUMPSP_HIJACK_LIB=$root/target/release/librumpsp_hijack.so
work=$(mktemp -d)
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
if [[ -z "$server" ]]; then
    server="unix://$work/rump.sock"
    "$bin" serve "$server" 2>"$work/serve.log" &
    pid=$!
    for _ in $(seq 100); do [[ -S "$work/rump.sock" ]] && break; sleep 0.05; done
fi
export RUMP_SERVER=$server
"$bin" mkdir -p /tmp/hijack || exit 2
"$bin" mount -t tmpfs tmpfs /tmp/hijack || exit 2

# Step-by-step comparison of two transcripts ("## name" headers).
compare() {
    python3 - "$1" "$2" <<'PY'
import sys
def steps(path):
    out, name = {}, None
    order = []
    for line in open(path, errors="replace"):
        if line.startswith("## "):
            name = line[3:].rstrip("\n"); order.append(name); out[name] = []
        elif name is not None:
            out[name].append(line)
    return order, out
ho, h = steps(sys.argv[1]); ro, r = steps(sys.argv[2])
bad = 0
for name in ho:
    if name not in r:
        print(f"hijack: {name}: missing under rumpsp run"); bad += 1
    elif h[name] != r[name]:
        print(f"hijack: {name}: differs\n  host: {''.join(h[name])!r}\n  rump: {''.join(r[name])!r}"); bad += 1
    else:
        print(f"hijack: {name}: same")
print(f"hijack: {len(ho) - bad} of {len(ho)} steps give the same output on the host and under rumpsp run")
sys.exit(1 if bad else 0)
PY
}

mkdir -p "$work/host" "$work/scratch-h" "$work/scratch-r"
bash ci/hijack-list.sh "$work/host" "$work/scratch-h" >"$work/host.txt" 2>&1
timeout 300 "$bin" run -- bash ci/hijack-list.sh /rump/tmp/hijack "$work/scratch-r" >"$work/rump.txt" 2>&1 || true
status=0
compare "$work/host.txt" "$work/rump.txt" || status=1

# The comparison can fail: a transcript with one changed line must be caught.
sed '0,/^hello$/s//hellp/' "$work/host.txt" >"$work/wrong.txt"
if compare "$work/host.txt" "$work/wrong.txt" >/dev/null; then
    echo "hijack: the comparison did not catch a changed line"; status=1
fi

# cp -r of a 50 MB tree (50 files of 1 MiB in 5 directories, plus 200 small ones).
src="$work/tree"
for d in 1 2 3 4 5; do
    mkdir -p "$src/d$d"
    for f in $(seq 10); do head -c 1048576 /dev/urandom >"$src/d$d/big$f"; done
    for f in $(seq 40); do echo "small $d $f" >"$src/d$d/s$f"; done
done
t0=$(date +%s.%N); cp -r "$src" "$work/host-copy"; t1=$(date +%s.%N)
"$bin" run -- cp -r "$src" /rump/tmp/hijack/tree; t2=$(date +%s.%N)
"$bin" run -- diff -r "$src" /rump/tmp/hijack/tree >/dev/null || { echo "hijack: the 50 MB copy differs"; status=1; }
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    h = b - a; r = c - b;
    printf "hijack bench: cp -r of a 50 MB tree: host %.3f s, into the rump kernel %.3f s, ratio %.1fx\n", h, r, r / h }'

# Sockets in the rump kernel: an HTTP server and two clients over its loopback.
net_pid="" http_pid=""
net_cleanup() {
    [[ -n "$http_pid" ]] && kill "$http_pid" 2>/dev/null
    [[ -n "$net_pid" ]] && kill "$net_pid" 2>/dev/null
    cleanup
}
trap net_cleanup EXIT
net_fail() { echo "hijack net: $1"; status=1; }
netsock="$work/net.sock"
"$bin" serve "unix://$netsock" --components vfs,tmpfs,net,local,inet 2>"$work/net-serve.log" &
net_pid=$!
for _ in $(seq 200); do [[ -S "$netsock" ]] && break; sleep 0.05; done
[[ -S "$netsock" ]] || { echo "hijack net: rumpsp serve made no socket"; exit 2; }
www="$work/www"; mkdir -p "$www"
head -c 300000 /dev/urandom >"$www/big.bin"
echo "hello over the rump kernel" >"$www/hello.txt"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUMP_SERVER="unix://$netsock" PYTHONUNBUFFERED=1 "$bin" run --sockets inet -- \
    python3 -m http.server --bind 127.0.0.1 "$port" --directory "$www" >"$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 600); do grep -q "Serving HTTP" "$work/http.log" && break; sleep 0.05; done
grep -q "Serving HTTP" "$work/http.log" || { echo "hijack net: http.server did not start:"; cat "$work/http.log"; exit 2; }
export RUMP_SERVER="unix://$netsock"
timeout 120 "$bin" run --sockets inet -- python3 -c \
    "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:$port/big.bin', timeout=60).read())" \
    >"$work/urllib.out" || net_fail "urllib failed"
cmp -s "$work/urllib.out" "$www/big.bin" && echo "hijack net: python3 urllib got big.bin (300000 bytes) intact" || net_fail "urllib: the bytes differ"
timeout 120 "$bin" run --sockets inet -- curl -sS --max-time 60 "http://127.0.0.1:$port/big.bin" >"$work/curl.out" || net_fail "curl failed"
cmp -s "$work/curl.out" "$www/big.bin" && echo "hijack net: curl got big.bin intact" || net_fail "curl: the bytes differ"
[[ "$(timeout 120 "$bin" run --sockets inet -- curl -sS --max-time 60 "http://127.0.0.1:$port/hello.txt")" == "hello over the rump kernel" ]] \
    && echo "hijack net: curl got hello.txt" || net_fail "curl: hello.txt differs"
if curl -s --max-time 10 "http://127.0.0.1:$port/hello.txt" >/dev/null; then
    net_fail "the host reached port $port: the server was not in the rump kernel"
else
    echo "hijack net: a host connect to 127.0.0.1:$port fails (the port is the rump kernel's)"
fi
exit $status
