#!/usr/bin/env bash
# Real MariaDB and PostgreSQL servers for the test suite (issue #17 §1).
#
#   scripts/real-servers.sh install        install the Debian packages when missing
#   scripts/real-servers.sh check          exit 0 when this machine can run the servers
#                                          (root, ip netns, the binaries); else say why, exit 3
#   scripts/real-servers.sh run DIR        set up, run every scenario, tear down (also on
#                                          failure); the logs are left in DIR/logs/
#   scripts/real-servers.sh teardown [DIR] stop the servers, remove the namespaces
#   scripts/real-servers.sh up DIR         as run, but the namespaces and data stay (the
#                                          servers stopped, logs flushed); the caller holds
#                                          /tmp/fxrs-real-servers.lock and calls teardown
#   scripts/real-servers.sh serve DIR      start both servers again after `up`, audit off
#                                          (tests/real_privileges.rs replays statements)
#
# The network lives only in network namespaces this script creates (names `fxrs-*`, used by
# no other test): `fxrs-srv` holds a bridge `fxrs-br0` (10.77.0.1/24) and the servers; each
# client address is a namespace of its own with a veth pair into that bridge. Nothing is
# added to the host's own interfaces or routes, and no traffic leaves the namespaces.
#
#   fxrs-app 10.77.0.10  application host (allowed)      fxrs-atk 10.77.0.200 attacker
#   fxrs-adm 10.77.0.20  admin host (bastion)            fxrs-spr 10.77.0.201 sprayer
#   fxrs-job 10.77.0.30  plaintext batch job (allowed)
#
# The servers are configured as RDS runs them: MariaDB 10.11 with the server_audit plugin
# (server_audit_events=CONNECT,QUERY,TABLE, rotation on with a small rotate size so the
# scenario rotates files) and PostgreSQL (Debian's major version, 15 on bookworm) with
# pgaudit, log_line_prefix='%t:%r:%u@%d:[%p]:', log_connections, log_disconnections, stderr
# and csvlog at once. Both serve TLS with a test CA made here with openssl. Setting up users
# and databases happens before the audit logging starts (a first server start whose logs are
# discarded), so the logs hold exactly the scenarios.
set -euo pipefail

SRV=fxrs-srv
BR=fxrs-br0
SRV_IP=10.77.0.1
CLIENTS=("fxrs-app 10.77.0.10" "fxrs-adm 10.77.0.20" "fxrs-job 10.77.0.30" "fxrs-atk 10.77.0.200" "fxrs-spr 10.77.0.201")
PACKAGES=(mariadb-server mariadb-client postgresql postgresql-client iproute2 openssl)

log() { printf 'real-servers: %s\n' "$*" >&2; }

pg_bindir() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"
}

pg_major() { basename "$(dirname "$(pg_bindir)")"; }

missing_reason() {
  [ "$(id -u)" = 0 ] || { echo "not root (network namespaces and servers need root)"; return; }
  command -v ip >/dev/null || { echo "ip (iproute2) not installed"; return; }
  command -v openssl >/dev/null || { echo "openssl not installed"; return; }
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { echo "mariadbd not installed"; return; }
  command -v mariadb >/dev/null || { echo "mariadb client not installed"; return; }
  ls /usr/lib/mysql/plugin/server_audit.so >/dev/null 2>&1 || { echo "server_audit plugin missing"; return; }
  local b; b=$(pg_bindir || true)
  [ -n "$b" ] && [ -x "$b/postgres" ] || { echo "postgresql server not installed"; return; }
  command -v psql >/dev/null || { echo "psql not installed"; return; }
  ls "/usr/lib/postgresql/$(pg_major)/lib/pgaudit.so" >/dev/null 2>&1 || { echo "pgaudit for PostgreSQL $(pg_major) not installed"; return; }
  id mysql >/dev/null 2>&1 || { echo "no mysql system user"; return; }
  id postgres >/dev/null 2>&1 || { echo "no postgres system user"; return; }
  { ip netns add fxrs-probe && ip netns del fxrs-probe; } >/dev/null 2>&1 \
    || { echo "cannot create network namespaces here (ip netns add)"; return; }
  echo ""
}

cmd_install() {
  if [ -z "$(missing_reason)" ]; then log "servers already installed"; return 0; fi
  [ "$(id -u)" = 0 ] || { log "not root: cannot install"; return 3; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  local pg=postgresql-15
  # The pgaudit package follows the distribution's PostgreSQL major version.
  local cand
  cand=$(apt-cache policy postgresql 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then pg="postgresql-${cand%%+*}"; fi
  # Debian's maintainer scripts would start the packaged services (a server on the host's
  # own loopback): a policy-rc.d that says no keeps them stopped; removed afterwards.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made_policy=1; fi
  local rc=0
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" "$pg" "$pg-pgaudit" >/dev/null || rc=$?
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
  [ "$rc" = 0 ] || { log "apt-get install failed ($rc)"; return 3; }
  local r; r=$(missing_reason)
  [ -z "$r" ] || { log "installed, but still cannot run: $r"; return 3; }
  log "installed: $(mariadbd --version 2>/dev/null | head -1); PostgreSQL $(pg_major) with pgaudit"
}

cmd_check() {
  local r; r=$(missing_reason)
  if [ -n "$r" ]; then echo "$r"; return 3; fi
}

# ---------------------------------------------------------------------------------------
# Namespaces

net_up() {
  net_down
  ip netns add "$SRV"
  ip -n "$SRV" link set lo up
  ip -n "$SRV" link add "$BR" type bridge
  ip -n "$SRV" addr add "$SRV_IP/24" dev "$BR"
  ip -n "$SRV" link set "$BR" up
  local c ns addr short
  for c in "${CLIENTS[@]}"; do
    ns=${c% *}; addr=${c#* }; short=${ns#fxrs-}
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Both ends are created inside the namespaces: nothing appears on the host.
    ip -n "$SRV" link add "fxrs-$short-b" type veth peer name eth0 netns "$ns"
    ip -n "$SRV" link set "fxrs-$short-b" master "$BR" up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  # The bridge runs without STP, so its ports forward as soon as they are up.
}

net_down() {
  local c
  for c in "${CLIENTS[@]}"; do ip netns del "${c% *}" 2>/dev/null || true; done
  ip netns del "$SRV" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# TLS

make_certs() {
  local d=$1/tls
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fxrs test CA" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$SRV_IP" \
    -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\n' "$SRV_IP" >"$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/server.pem" 2>/dev/null
  # Each server reads its own copy, owned by its user (PostgreSQL insists on 0600).
  mkdir -p "$d/mariadb" "$d/pg"
  cp "$d/ca.pem" "$d/server.pem" "$d/server-key.pem" "$d/mariadb/"
  cp "$d/ca.pem" "$d/server.pem" "$d/server-key.pem" "$d/pg/"
  chown -R mysql: "$d/mariadb"; chown -R postgres: "$d/pg"
  chmod 600 "$d/mariadb/server-key.pem" "$d/pg/server-key.pem"
}

# ---------------------------------------------------------------------------------------
# MariaDB

my_cnf() { # DIR AUDIT(0|1)
  local d=$1/mariadb
  cat <<EOF
[mariadbd]
datadir=$d/data
socket=$d/mysqld.sock
pid-file=$d/mysqld.pid
port=3306
bind-address=$SRV_IP
user=mysql
skip-name-resolve
log-error=$d/error.log
secure-file-priv=$d/outfiles
ssl-ca=$1/tls/mariadb/ca.pem
ssl-cert=$1/tls/mariadb/server.pem
ssl-key=$1/tls/mariadb/server-key.pem
EOF
  if [ "$2" = 1 ]; then
    cat <<EOF
plugin-load-add=server_audit
server_audit_logging=ON
server_audit_events=CONNECT,QUERY,TABLE
server_audit_output_type=file
server_audit_file_path=$1/logs/mariadb/server_audit.log
server_audit_file_rotate_size=4096
server_audit_file_rotations=20
EOF
  fi
}

my_start() { # DIR AUDIT
  local d=$1/mariadb
  my_cnf "$1" "$2" >"$d/my.cnf"
  ip netns exec "$SRV" mariadbd --defaults-file="$d/my.cnf" >>"$d/stdout.log" 2>&1 &
  for _ in $(seq 150); do
    mariadb --defaults-file=/dev/null -S "$d/mysqld.sock" -uroot -e 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "mariadbd did not start:"; tail -20 "$d/error.log" >&2 || true
  return 1
}

my_stop() {
  local d=$1/mariadb
  [ -S "$d/mysqld.sock" ] || [ -f "$d/mysqld.pid" ] || return 0
  mariadb-admin --defaults-file=/dev/null -S "$d/mysqld.sock" -uroot shutdown 2>/dev/null || true
  for _ in $(seq 100); do [ -f "$d/mysqld.pid" ] || return 0; sleep 0.1; done
  [ -f "$d/mysqld.pid" ] && kill "$(cat "$d/mysqld.pid")" 2>/dev/null || true
}

my_setup() {
  local D=$1 d=$1/mariadb
  mkdir -p "$d/data" "$d/outfiles" "$D/logs/mariadb"
  chown -R mysql: "$d" "$D/logs/mariadb"
  mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" \
    --auth-root-authentication-method=socket --skip-test-db >"$d/install.log" 2>&1
  my_start "$D" 0
  mariadb --defaults-file=/dev/null -S "$d/mysqld.sock" -uroot <<'SQL'
CREATE DATABASE shop;
CREATE DATABASE billing;
CREATE TABLE shop.customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100), email VARCHAR(200));
CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT, amount DECIMAL(10,2), note TEXT);
CREATE TABLE shop.tmp_import (id INT);
CREATE TABLE shop.audit_tmp (id INT);
CREATE TABLE billing.invoices (id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2));
INSERT INTO shop.customers (name, email) VALUES ('Ann','ann@example.com'),('Bob','bob@example.com');
INSERT INTO billing.invoices VALUES (1, 1, 10.00), (2, 2, 20.00);
CREATE USER 'admin'@'%' IDENTIFIED BY 'Admin-Pass-1';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;
CREATE USER 'app'@'%' IDENTIFIED BY 'App-Pass-1' REQUIRE SSL;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'%';
GRANT SELECT ON billing.* TO 'app'@'%';
CREATE USER 'job'@'%' IDENTIFIED BY 'Job-Pass-1';
GRANT SELECT ON shop.* TO 'job'@'%';
SQL
  my_stop "$D"
  rm -f "$d/mysqld.sock"
  my_start "$D" 1
}

# ---------------------------------------------------------------------------------------
# PostgreSQL

pg_conf() { # DIR LOGDIR
  cat <<EOF
listen_addresses = '$SRV_IP'
port = 5432
unix_socket_directories = '$1/pg'
ssl = on
ssl_cert_file = '$1/tls/pg/server.pem'
ssl_key_file = '$1/tls/pg/server-key.pem'
ssl_ca_file = '$1/tls/pg/ca.pem'
password_encryption = 'scram-sha-256'
logging_collector = on
log_destination = 'stderr,csvlog'
log_directory = '$2'
log_filename = 'postgresql.log.%Y-%m-%d-%H'
log_rotation_age = 60
log_rotation_size = 0
log_line_prefix = '%t:%r:%u@%d:[%p]:'
log_timezone = 'UTC'
log_connections = on
log_disconnections = on
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'all'
pgaudit.log_catalog = off
EOF
}

pg_start() { # DIR LOGDIR
  local d=$1/pg b; b=$(pg_bindir)
  pg_conf "$1" "$2" >"$d/data/postgresql.auto.conf"
  chown postgres: "$d/data/postgresql.auto.conf"
  ip netns exec "$SRV" runuser -u postgres -- "$b/pg_ctl" -D "$d/data" -l "$d/pg_ctl.log" -w -t 60 start >/dev/null
}

pg_stop() {
  local d=$1/pg b; b=$(pg_bindir)
  [ -f "$d/data/postmaster.pid" ] || return 0
  ip netns exec "$SRV" runuser -u postgres -- "$b/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null 2>&1 || true
}

pg_setup() {
  local D=$1 d=$1/pg b; b=$(pg_bindir)
  mkdir -p "$d/data" "$d/setup-logs" "$D/logs/postgres"
  chown -R postgres: "$d" "$D/logs/postgres"
  runuser -u postgres -- "$b/initdb" -D "$d/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 >"$d/initdb.log" 2>&1
  cat >"$d/data/pg_hba.conf" <<EOF
local   all all               trust
hostssl all all 10.77.0.0/24  scram-sha-256
host    all all 10.77.0.0/24  scram-sha-256
EOF
  pg_start "$D" "$d/setup-logs"
  local P=(psql -X -q -v ON_ERROR_STOP=1 -h "$d" -U postgres)
  "${P[@]}" -d postgres <<'SQL'
CREATE ROLE admin LOGIN SUPERUSER PASSWORD 'Admin-Pass-1';
CREATE ROLE app LOGIN PASSWORD 'App-Pass-1';
CREATE ROLE job LOGIN PASSWORD 'Job-Pass-1';
CREATE DATABASE shop OWNER admin;
CREATE DATABASE billing OWNER admin;
SQL
  "${P[@]}" -d shop <<'SQL'
CREATE TABLE customers (id serial PRIMARY KEY, name text, email text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, amount numeric(10,2), note text);
CREATE TABLE tmp_import (id int);
CREATE TABLE audit_tmp (id int);
INSERT INTO customers (name, email) VALUES ('Ann','ann@example.com'),('Bob','bob@example.com');
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO job;
ALTER TABLE customers OWNER TO admin; ALTER TABLE orders OWNER TO admin;
ALTER TABLE tmp_import OWNER TO admin; ALTER TABLE audit_tmp OWNER TO admin;
SQL
  "${P[@]}" -d billing <<'SQL'
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int, total numeric(10,2));
INSERT INTO invoices VALUES (1, 1, 10.00), (2, 2, 20.00);
GRANT SELECT ON invoices TO app;
ALTER TABLE invoices OWNER TO admin;
SQL
  pg_stop "$D"
  pg_start "$D" "$D/logs/postgres"
}

# ---------------------------------------------------------------------------------------
# Scenarios (the test's known answers follow from these; keep them in step with
# tests/real_servers.rs)

# my NS USER PASS TLS(tls|plain) [mariadb args...] < SQL
my() {
  local ns=$1 user=$2 pass=$3 tls=$4; shift 4
  local t=(--ssl --ssl-ca="$D/tls/ca.pem" --ssl-verify-server-cert)
  [ "$tls" = plain ] && t=(--skip-ssl)
  ip netns exec "$ns" mariadb --defaults-file=/dev/null -h "$SRV_IP" -P 3306 -u "$user" -p"$pass" \
    --connect-timeout=10 "${t[@]}" "$@"
}

# pg NS USER PASS DB TLS(tls|plain) [psql args...] < SQL
pg() {
  local ns=$1 user=$2 pass=$3 db=$4 tls=$5; shift 5
  local mode="sslmode=verify-full sslrootcert=$D/tls/ca.pem"
  [ "$tls" = plain ] && mode="sslmode=disable"
  PGPASSWORD=$pass PGCONNECT_TIMEOUT=10 ip netns exec "$ns" \
    psql -X -q -v ON_ERROR_STOP=1 "host=$SRV_IP port=5432 user=$user dbname=$db $mode" "$@"
}

# Expect a login to fail (wrong password or unknown user).
my_fail() { if my "$@" -e 'SELECT 1' >/dev/null 2>&1; then log "login unexpectedly succeeded: $*"; return 1; fi; }
pg_fail() { if pg "$@" -c 'SELECT 1' >/dev/null 2>&1; then log "login unexpectedly succeeded: $*"; return 1; fi; }

scenarios_mariadb() {
  # 1. Normal TLS application traffic, multi-line statements, quotes and escapes: app from
  #    its application host, 64 statements in shop (enough for a usual-database baseline).
  {
    echo "USE shop;"
    for i in $(seq 1 20); do
      echo "SELECT id, name FROM customers WHERE id = $i;"
      echo "INSERT INTO orders (customer_id, amount, note) VALUES (1, $i.50, 'order $i');"
      echo "UPDATE orders SET amount = amount + 1 WHERE id = $i;"
    done
    cat <<'SQL'
SELECT c.name,
       SUM(o.amount) AS total
  FROM customers c
  JOIN orders o ON o.customer_id = c.id
 GROUP BY c.name;
INSERT INTO orders (customer_id, amount, note) VALUES (2, 3.00, 'it''s "quoted", with a comma, a backslash \\ and a tab	here');
INSERT INTO orders (customer_id, amount, note) VALUES (2, 4.00, 'two
lines');
SELECT note FROM orders WHERE note LIKE '%\\\\%' OR note = 'O\'Brien';
SQL
  } | my fxrs-app app App-Pass-1 tls >/dev/null
  # 2. A plaintext job: job from the job host without TLS.
  my fxrs-job job Job-Pass-1 plain shop -e 'SELECT COUNT(*) FROM customers; SELECT COUNT(*) FROM orders;' >/dev/null
  # 3. The master user from the admin host: privilege changes and destructive statements.
  my fxrs-adm admin Admin-Pass-1 tls >/dev/null <<'SQL'
CREATE USER 'report'@'10.77.0.%' IDENTIFIED BY 'Report-Pass-1';
GRANT SELECT ON shop.* TO 'report'@'10.77.0.%';
CREATE USER 'ops'@'%' IDENTIFIED BY 'Ops-Pass-1';
GRANT ALL PRIVILEGES ON *.* TO 'ops'@'%' WITH GRANT OPTION;
DROP TABLE shop.tmp_import;
TRUNCATE TABLE shop.audit_tmp;
SQL
  # 4. The master user from an application host.
  my fxrs-app admin Admin-Pass-1 tls -e 'SELECT COUNT(*) FROM shop.orders;' >/dev/null
  # 5. Failed logins below every threshold: wrong passwords, an unknown user.
  my_fail fxrs-app app wrong-1 tls
  my_fail fxrs-app app wrong-2 tls
  my_fail fxrs-job ghost nothing plain
  # 6. Brute force then success from the attacker, who then exports and destroys.
  local i
  for i in $(seq 1 22); do my_fail fxrs-atk admin "guess-$i" plain; done
  my fxrs-atk admin Admin-Pass-1 plain >/dev/null <<SQL
SELECT * FROM shop.customers INTO OUTFILE '$D/mariadb/outfiles/customers.csv';
DELETE FROM shop.orders;
SQL
  # 7. A password spray: one source, six unknown users.
  for u in alice bob carol dave erin frank; do my_fail fxrs-spr "$u" Spring2026 plain; done
  # 8. A cross-database read: app reads billing once.
  my fxrs-app app App-Pass-1 tls -e 'SELECT total FROM billing.invoices WHERE id = 1;' >/dev/null
}

scenarios_postgres() {
  # 1. Normal TLS application traffic, multi-line statements, quotes and escapes.
  {
    for i in $(seq 1 20); do
      echo "SELECT id, name FROM customers WHERE id = $i;"
      echo "INSERT INTO orders (customer_id, amount, note) VALUES (1, $i.50, 'order $i');"
      echo "UPDATE orders SET amount = amount + 1 WHERE id = $i;"
    done
    cat <<'SQL'
SELECT c.name,
       SUM(o.amount) AS total
  FROM customers c
  JOIN orders o ON o.customer_id = c.id
 GROUP BY c.name;
INSERT INTO orders (customer_id, amount, note) VALUES (2, 3.00, 'it''s "quoted", with a comma, a backslash \ and a tab	here');
INSERT INTO orders (customer_id, amount, note) VALUES (2, 4.00, E'two\nlines, "quoted" \\ ''escaped''');
INSERT INTO orders (customer_id, amount, note) VALUES (2, 5.00, 'real
newline');
SELECT note FROM orders WHERE note LIKE '%\%' OR note = 'O''Brien';
SQL
  } | pg fxrs-app app App-Pass-1 shop tls >/dev/null
  # 2. A plaintext job.
  pg fxrs-job job Job-Pass-1 shop plain -c 'SELECT COUNT(*) FROM customers' -c 'SELECT COUNT(*) FROM orders' >/dev/null
  # 3. The master user from the admin host.
  pg fxrs-adm admin Admin-Pass-1 shop tls >/dev/null <<'SQL'
CREATE ROLE report LOGIN PASSWORD 'Report-Pass-1';
GRANT SELECT ON customers TO report;
CREATE ROLE ops LOGIN SUPERUSER PASSWORD 'Ops-Pass-1';
DROP TABLE tmp_import;
TRUNCATE TABLE audit_tmp;
SQL
  # 4. The master user from an application host.
  pg fxrs-app admin Admin-Pass-1 shop tls -c 'SELECT COUNT(*) FROM orders' >/dev/null
  # 5. Failed logins below every threshold.
  pg_fail fxrs-app app wrong-1 shop tls
  pg_fail fxrs-app app wrong-2 shop tls
  pg_fail fxrs-job ghost nothing shop plain
  # 6. Brute force then success, then export and destroy.
  local i
  for i in $(seq 1 22); do pg_fail fxrs-atk admin "guess-$i" shop plain; done
  pg fxrs-atk admin Admin-Pass-1 shop plain >/dev/null <<'SQL'
COPY (SELECT * FROM customers) TO PROGRAM 'cat > /dev/null';
DELETE FROM orders;
SQL
  # 7. A password spray.
  for u in alice bob carol dave erin frank; do pg_fail fxrs-spr "$u" Spring2026 shop plain; done
  # 8. A cross-database read: app connects to billing once.
  pg fxrs-app app App-Pass-1 billing tls -c 'SELECT total FROM invoices WHERE id = 1' >/dev/null
}

cmd_teardown() {
  local D=${1:-}
  if [ -n "$D" ]; then my_stop "$D" || true; pg_stop "$D" || true; fi
  net_down
}

cmd_run() {
  D=$(cd "$1" && pwd)
  local r; r=$(missing_reason)
  [ -z "$r" ] || { log "cannot run: $r"; return 3; }
  chmod 755 "$D"
  # One run at a time on this machine: the namespace names are fixed.
  exec 9>/tmp/fxrs-real-servers.lock
  flock 9
  trap 'cmd_teardown "$D"' EXIT
  trap 'exit 130' INT TERM
  local t0=$SECONDS
  net_up
  make_certs "$D"
  my_setup "$D"
  pg_setup "$D"
  log "servers up in $((SECONDS - t0)) s (MariaDB $(mariadbd --version | awk '{print $3}'), PostgreSQL $(pg_major))"
  local t1=$SECONDS
  scenarios_mariadb
  scenarios_postgres
  log "scenarios ran in $((SECONDS - t1)) s"
  # Stop the servers so every log line is flushed before the scan.
  my_stop "$D"; pg_stop "$D"
  cmd_teardown "$D"
  trap - EXIT
  log "logs in $D/logs (setup and scenarios: $((SECONDS - t0)) s)"
}

# `up`: the scenarios, then the servers stopped (every log line flushed) with the namespaces
# and data left for `serve`. The caller holds the lock and tears down (also on failure: a
# failure here tears down itself).
cmd_up() {
  D=$(cd "$1" && pwd)
  local r; r=$(missing_reason)
  [ -z "$r" ] || { log "cannot run: $r"; return 3; }
  chmod 755 "$D"
  trap 'cmd_teardown "$D"' EXIT
  trap 'exit 130' INT TERM
  net_up
  make_certs "$D"
  my_setup "$D"
  pg_setup "$D"
  scenarios_mariadb
  scenarios_postgres
  my_stop "$D"; pg_stop "$D"
  trap - EXIT
  log "scenarios done; logs in $D/logs, namespaces up"
}

cmd_serve() {
  D=$(cd "$1" && pwd)
  rm -f "$D/mariadb/mysqld.sock"
  my_start "$D" 0
  pg_start "$D" "$D/pg/setup-logs"
}

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check ;;
  run) [ -n "${2:-}" ] || { echo "usage: $0 run DIR" >&2; exit 2; }; cmd_run "$2" ;;
  teardown) cmd_teardown "${2:-}" ;;
  up) [ -n "${2:-}" ] || { echo "usage: $0 up DIR" >&2; exit 2; }; cmd_up "$2" ;;
  serve) [ -n "${2:-}" ] || { echo "usage: $0 serve DIR" >&2; exit 2; }; cmd_serve "$2" ;;
  *) echo "usage: $0 install|check|run DIR|teardown [DIR]" >&2; exit 2 ;;
esac
