#!/usr/bin/env bash
# Makes sure the local PostgreSQL and NATS (with JetStream) answer, starting them when they are
# installed but stopped. Exits non-zero with what to install when they are missing.
set -uo pipefail

PG_HOST=127.0.0.1
NATS_PORT=4222

pg_up() { pg_isready -q -h "$PG_HOST" -p 5432 2>/dev/null; }
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null; }

wait_for() { # name, check-fn
  for _ in $(seq 1 60); do "$2" && return 0; sleep 0.5; done
  echo "$1 did not come up within 30 s" >&2
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    wait_for PostgreSQL pg_up || exit 1
  else
    echo "PostgreSQL is not installed. Install it with: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
fi

if ! nats_up; then
  if [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1; then
    echo "starting NATS with JetStream"
    bin=$(command -v nats-server || echo /usr/sbin/nats-server)
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec "$bin" -- \
      -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    wait_for NATS nats_up || exit 1
  else
    echo "NATS is not installed. Install it with: sudo apt-get install -y nats-server" >&2
    exit 1
  fi
fi
echo "PostgreSQL and NATS are up"
