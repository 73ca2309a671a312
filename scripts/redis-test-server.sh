#!/usr/bin/env bash
# Starts a local Redis for the scale-out tests (Debian's redis-server; run as root to install it).
# Idempotent: reuses the server this script started before if it still answers; otherwise starts one
# on a free port, bounded like a production tile cache (maxmemory with LRU eviction, no persistence).
# Prints the export line for MERIDIAN_TEST_REDIS_URL on stdout; everything else goes to stderr.
set -euo pipefail
DIR=${MERIDIAN_TEST_REDIS_DIR:-/tmp/meridian-redis-test}

if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
mkdir -p "$DIR"
if [ -f "$DIR/port" ] && redis-cli -p "$(cat "$DIR/port")" ping 2>/dev/null | grep -q PONG; then
  PORT=$(cat "$DIR/port")
else
  # A free port: the kernel picks one for a throwaway listener.
  PORT=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
  redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
    --save '' --appendonly no --maxmemory 64mb --maxmemory-policy allkeys-lru >&2
  for _ in $(seq 50); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  echo "$PORT" > "$DIR/port"
fi
echo "export MERIDIAN_TEST_REDIS_URL=redis://127.0.0.1:$PORT"
