#!/bin/bash
# Runs once per fresh data directory, from the official MySQL image's /docker-entrypoint-initdb.d,
# against the entrypoint's temporary server (socket only). Every one of db01..db05 runs the same
# script; MYSPOA_SOURCE_HOST (set per service in docker-compose.yml) says which server it replicates
# from: db01 <-> db02 master-master, db03/db04 under db01, db05 under db02.
#
# Users and databases are created on every server with sql_log_bin=0 and the binary log and GTID
# history are reset first, so all five servers start from the same empty GTID set: replication with
# SOURCE_AUTO_POSITION=1 then has nothing to reconcile, whatever order the containers start in.
set -euo pipefail
: "${MYSPOA_SOURCE_HOST:?set MYSPOA_SOURCE_HOST to the server this one replicates from}"
: "${MYSQL_ROOT_PASSWORD:?}"
: "${MYSPOA_REPL_PASSWORD:=repl}"
: "${MYSPOA_AGENT_PASSWORD:=myspoa}"
: "${MYSPOA_APP_PASSWORD:=app}"

sql() { mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" "$@"; }

# RESET MASTER was renamed in 8.2 and removed in 8.4: support both image lines.
version=$(sql -N -B -e 'SELECT VERSION()')
case "$version" in
  8.0.*) reset_sql='RESET MASTER' ;;
  *) reset_sql='RESET BINARY LOGS AND GTIDS' ;;
esac

echo "myspoa-lab: $(hostname) (MySQL $version) replicates from ${MYSPOA_SOURCE_HOST}"
sql <<SQL
${reset_sql};
SET SESSION sql_log_bin = 0;
-- Replication account (the MySQL replica client handles caching_sha2_password itself).
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '${MYSPOA_REPL_PASSWORD}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
-- The agent's account, with the MySQL 8.4 names of the loopback lab's MariaDB privileges (labctl):
-- PROCESS, RELOAD; BINLOG/SLAVE MONITOR -> REPLICATION CLIENT; REPLICATION SLAVE/MASTER ADMIN ->
-- REPLICATION_SLAVE_ADMIN; BINLOG ADMIN -> BINLOG_ADMIN; CONNECTION ADMIN -> CONNECTION_ADMIN
-- (also lets it write while read_only, as SUPER did); READ_ONLY ADMIN -> SYSTEM_VARIABLES_ADMIN
-- (SET GLOBAL read_only). Everything on its own schema, DML + CREATE on app (the lab's load).
-- mysql_native_password: the agent's MariaDB Connector/C then needs no RSA key exchange nor TLS.
CREATE USER IF NOT EXISTS 'myspoa'@'%' IDENTIFIED WITH mysql_native_password BY '${MYSPOA_AGENT_PASSWORD}';
GRANT PROCESS, RELOAD, REPLICATION CLIENT, REPLICATION_SLAVE_ADMIN, BINLOG_ADMIN, CONNECTION_ADMIN,
      SYSTEM_VARIABLES_ADMIN, SESSION_VARIABLES_ADMIN ON *.* TO 'myspoa'@'%';
CREATE DATABASE IF NOT EXISTS myspoa;
GRANT ALL PRIVILEGES ON myspoa.* TO 'myspoa'@'%';
CREATE DATABASE IF NOT EXISTS app;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON app.* TO 'myspoa'@'%';
-- The application's account: what clients of lb1/lb2 use; read_only applies to it.
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED WITH mysql_native_password BY '${MYSPOA_APP_PASSWORD}';
GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%';
SET SESSION sql_log_bin = 1;
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '${MYSPOA_SOURCE_HOST}', SOURCE_PORT = 3306,
  SOURCE_USER = 'repl', SOURCE_PASSWORD = '${MYSPOA_REPL_PASSWORD}',
  SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = 1, SOURCE_RETRY_COUNT = 86400,
  GET_SOURCE_PUBLIC_KEY = 1;
START REPLICA;
SQL
