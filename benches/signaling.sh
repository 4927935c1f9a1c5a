#!/usr/bin/env bash
# The signaling load benchmark (`sealcall bench-signaling`) in its two standard runs:
#   1. one node on SQLite: 1,000 clients at 2,000 messages/s, then 10,000 idle devices;
#   2. two nodes on a throwaway PostgreSQL and Redis (started here on free ports, removed
#      after): 1,000 clients at 2,000 messages/s, every message crossing Redis.
# Results: target/signaling-1-node.json and target/signaling-2-nodes.json, and the tables on
# standard output. Needs postgresql and redis-server (apt); run from the workspace root.
# Extra arguments go to both runs (e.g. --seconds 30).
set -euo pipefail

BIN=${SEALCALL_BIN:-target/release/sealcall}
if [ -z "${SEALCALL_BIN:-}" ]; then
    cargo build --release -p sealcall
fi

dir=$(mktemp -d /tmp/sealcall-signaling-XXXXXX)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    as_postgres "$pgbin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
    while :; do
        port=$((20000 + RANDOM % 30000))
        if ! ss -ltn "sport = :$port" | grep -q LISTEN; then
            echo "$port"
            return
        fi
    done
}

secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

ulimit -n "$(ulimit -Hn)"

echo "== 1 node (SQLite): 1,000 clients at 2,000 messages/s, then 10,000 idle devices"
"$BIN" bench-signaling --nodes 1 --clients 1000 --rate 2000 --idle 10000 \
    --json target/signaling-1-node.json "$@"

echo "== 2 nodes (PostgreSQL and Redis): 1,000 clients at 2,000 messages/s"
pgpw=$(secret)
printf '%s' "$pgpw" > "$dir/pwfile"
[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
as_postgres "$pgbin/initdb" --no-sync --auth-local=trust --auth-host=scram-sha-256 \
    -U postgres --pwfile="$dir/pwfile" -D "$dir/pg" >/dev/null
pgport=$(free_port)
as_postgres "$pgbin/pg_ctl" -w -D "$dir/pg" -l "$dir/pg.log" \
    -o "-p $pgport -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
redispw=$(secret)
redisport=$(free_port)
redis-server --bind 127.0.0.1 --port "$redisport" --requirepass "$redispw" --save '' \
    --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" >/dev/null
"$BIN" bench-signaling --nodes 2 --clients 1000 --rate 2000 \
    --db "postgres://postgres:$pgpw@127.0.0.1:$pgport/postgres" \
    --redis "redis://:$redispw@127.0.0.1:$redisport/0" \
    --json target/signaling-2-nodes.json "$@"
