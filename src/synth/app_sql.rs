//! Background SQL: the statements each application sends, generated while rendering.
//!
//! Written in MySQL's dialect (the PostgreSQL renderer translates quoting and
//! `LAST_INSERT_ID()`), with multi-statement transactions, multi-line statements, escapes and
//! non-ASCII values a parser must survive, and the occasional duplicate key or deadlock
//! retcode. Nothing here may look like an incident: no unbounded writes, no DDL, no grants, and
//! each application stays in its own database.

use rand::Rng;

use super::estate::App;
use super::plan::Tab;
use super::render::Live;
use super::rng::{below, pick, range, rare, R};
use super::text::{push, push_hex, push_num, put2, put4};
use super::time::{civil_from_days, push_sql_datetime, DAY_US};

const NAMES: [&str; 16] = [
    "O'Brien",
    "Zoë Müller",
    "José Álvarez",
    "François Dubois",
    "Jürgen Groß",
    "山田太郎",
    "李小龍",
    "Siobhán O'Neill",
    "D'Angelo Ruiz",
    "Ølga Ærø",
    "Renée Côté",
    "Mika Häkkinen",
    "Nguyễn Ngọc Anh",
    "Anna \"Annie\" Smith",
    "Bjørn Ødegård",
    "Carlos Peña",
];
const CITIES: [&str; 12] = [
    "Paris",
    "München",
    "東京",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Reykjavík",
    "Montréal",
    "İstanbul",
    "Québec",
    "New York",
    "Dublin",
];
const NOTES: [&str; 12] = [
    "leave at door 🚚",
    "gift wrap 🎁 please",
    "call before delivery, \"urgent\"",
    "ring twice; then wait",
    "C:\\Users\\shared\\invoice.pdf",
    "fragile ⚠️ handle with care",
    "merci beaucoup 🙏",
    "",
    "deliver to back door, gate code 1234",
    "100% cotton — size M",
    "tab\tseparated\tnote",
    "naïve café order ☕",
];
const MEMOS: [&str; 8] = [
    "Zahlung für Bestellung",
    "paiement reçu — merci",
    "refund \\ adjustment",
    "支払い済み",
    "💳 card ending 4242",
    "O'Reilly Media invoice",
    "net 30, 2% discount",
    "Überweisung, Ref. A/B",
];
const REGIONS: [&str; 8] = [
    "Île-de-France",
    "Bayern",
    "東京都",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Ontario",
    "Dublin",
];
const ORDER_STATUS: [&str; 4] = ["shipped", "packed", "delivered", "cancelled"];
const WORDS: [&str; 8] = [
    "café",
    "Müsli",
    "抹茶",
    "🍫",
    "crème",
    "jalapeño",
    "dark roast",
    "50%",
];

/// A value as a single-quoted SQL literal, escaping quotes and backslashes the way a
/// client library would (either `\'` or `''` for quotes, picked at random).
fn push_lit(b: &mut Vec<u8>, s: &str, doubled: bool) {
    b.push(b'\'');
    for &c in s.as_bytes() {
        match c {
            b'\'' if doubled => b.extend_from_slice(b"''"),
            b'\'' => b.extend_from_slice(b"\\'"),
            b'\\' => b.extend_from_slice(b"\\\\"),
            _ => b.push(c),
        }
    }
    b.push(b'\'');
}

fn push_dt_lit(b: &mut Vec<u8>, us: i64) {
    b.push(b'\'');
    push_sql_datetime(b, us);
    b.push(b'\'');
}

fn push_date_lit(b: &mut Vec<u8>, us: i64) {
    b.push(b'\'');
    let (y, m, d) = civil_from_days(us.div_euclid(DAY_US));
    let mut t = [0u8; 10];
    put4(&mut t[0..4], y as u32);
    t[4] = b'-';
    put2(&mut t[5..7], m);
    t[7] = b'-';
    put2(&mut t[8..10], d);
    b.extend_from_slice(&t);
    b.push(b'\'');
}

/// One background statement for `app` into `sql`; table events into `tabs` (db filled in by
/// the caller). Returns the retcode.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gen_app(
    app: App,
    pg: bool,
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.init_left > 0 {
        let inits = app.init_statements(pg);
        push(sql, inits[inits.len() - lv.init_left as usize]);
        lv.init_left -= 1;
        return 0;
    }
    match app {
        App::Orders => gen_orders(lv, rng, now, remaining, sql, tabs),
        App::Billing => gen_billing(lv, rng, now, remaining, sql, tabs),
        App::Reporting => gen_reporting(rng, now, sql, tabs),
        App::Etl => gen_etl(lv, rng, now, remaining, sql, tabs),
    }
}

fn gen_orders(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO orders (customer_id, status, total_cents, currency, shipping_city, created_at) VALUES (");
                push_num(sql, lv.a);
                push(sql, ", 'pending', ");
                push_num(sql, 500 + below(rng, 90_000));
                push(sql, ", 'EUR', ");
                push_lit(sql, pick(rng, &CITIES), false);
                push(sql, ", ");
                push_dt_lit(sql, now);
                push(sql, ")");
                tabs.push(("WRITE", "", "orders"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "INSERT INTO order_items (order_id, sku, qty, price_cents)\nVALUES (LAST_INSERT_ID(), 'SKU-");
                push_num(sql, lv.b);
                push(sql, "', ");
                push_num(sql, lv.c);
                push(sql, ", ");
                push_num(sql, 199 + below(rng, 20_000));
                push(sql, "),\n       (LAST_INSERT_ID(), 'SKU-");
                push_num(sql, 10_000 + below(rng, 90_000));
                push(sql, "', 1, ");
                push_num(sql, 199 + below(rng, 5_000));
                push(sql, ")");
                tabs.push(("WRITE", "", "order_items"));
                return 0;
            }
            3 => {
                push(sql, "UPDATE inventory SET stock = stock - ");
                push_num(sql, lv.c);
                push(sql, " WHERE sku = 'SKU-");
                push_num(sql, lv.b);
                push(sql, "' AND stock >= ");
                push_num(sql, lv.c);
                tabs.push(("WRITE", "", "inventory"));
                return if rare(rng, 2000) { 1213 } else { 0 };
            }
            _ => {
                lv.txn = 0;
                push(
                    sql,
                    if lv.a.is_multiple_of(2) {
                        "COMMIT"
                    } else {
                        "commit"
                    },
                );
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 30 {
        let id = 1_000_000 + below(rng, 9_000_000);
        // The false-positive guard: comments, newlines and `WHERE id = 1` in ordinary writes
        // (the same random draws as the read they replace, so nothing else moves).
        if r == 29 && id.is_multiple_of(4) {
            push(
                sql,
                "UPDATE orders /* touch */\nSET status = status\nWHERE id = 1 -- keep-alive",
            );
            tabs.push(("WRITE", "", "orders"));
            return 0;
        }
        if r == 29 && id % 4 == 1 {
            // `/* */`, not `--`: Aurora's old escaping writes a newline as a space, and a line
            // comment would then run to the end of the logged text.
            push(sql, "DELETE FROM cart_items /* expired */\nWHERE id = 1");
            tabs.push(("WRITE", "", "cart_items"));
            return 0;
        }
        if r < 15 {
            push(sql, "/* app=orders */ ");
        }
        push(sql, "SELECT id, customer_id, status, total_cents, currency, created_at FROM orders WHERE id = ");
        push_num(sql, id);
        tabs.push(("READ", "", "orders"));
    } else if r < 45 {
        push(sql, "SELECT o.id, o.status, o.total_cents, c.name\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE o.customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, "\nORDER BY o.created_at DESC\nLIMIT 20");
        tabs.push(("READ", "", "orders"));
        tabs.push(("READ", "", "customers"));
    } else if r < 55 && remaining >= 5 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 1 + below(rng, 500_000);
        lv.b = 10_000 + below(rng, 90_000);
        lv.c = 1 + below(rng, 4);
        push(
            sql,
            if lv.a.is_multiple_of(2) {
                "BEGIN"
            } else {
                "START TRANSACTION"
            },
        );
    } else if r < 65 {
        push(sql, "UPDATE orders SET status = '");
        push(sql, pick(rng, &ORDER_STATUS));
        push(sql, "', updated_at = ");
        push_dt_lit(sql, now);
        push(sql, " WHERE id = ");
        push_num(sql, 1_000_000 + below(rng, 9_000_000));
        tabs.push(("WRITE", "", "orders"));
        return if rare(rng, 2000) { 1213 } else { 0 };
    } else if r < 73 {
        let name = pick(rng, &NAMES);
        let doubled = rng.next_u64() & 1 == 0;
        push(
            sql,
            "/* app=orders */ INSERT INTO customers (name, email, city, note, created_at) VALUES (",
        );
        push_lit(sql, name, doubled);
        push(sql, ", 'user");
        push_num(sql, below(rng, 1_000_000));
        push(sql, "@example.com', ");
        push_lit(sql, pick(rng, &CITIES), doubled);
        push(sql, ", ");
        push_lit(sql, pick(rng, &NOTES), doubled);
        push(sql, ", ");
        push_dt_lit(sql, now);
        push(sql, ")");
        tabs.push(("WRITE", "", "customers"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 81 {
        // `\_` in a LIKE pattern: a literal backslash in the statement text.
        push(
            sql,
            "SELECT id, name, email FROM customers WHERE email LIKE 'user",
        );
        push_num(sql, below(rng, 100));
        push(sql, "\\_%' LIMIT 10");
        tabs.push(("READ", "", "customers"));
    } else if r < 89 {
        push(sql, "SELECT COUNT(*) FROM order_items WHERE order_id IN (");
        for k in 0..3 {
            if k > 0 {
                push(sql, ", ");
            }
            push_num(sql, 1_000_000 + below(rng, 9_000_000));
        }
        push(sql, ")");
        tabs.push(("READ", "", "order_items"));
    } else if r < 95 {
        push(sql, "DELETE FROM cart_items WHERE session_id = '");
        push_hex(sql, rng, 32);
        push(sql, "' AND updated_at < ");
        push_dt_lit(sql, now - DAY_US);
        tabs.push(("WRITE", "", "cart_items"));
    } else {
        push(
            sql,
            "SELECT sku, name, price_cents, stock FROM products WHERE name LIKE ",
        );
        let w = format!("%{}%", pick(rng, &WORDS));
        push_lit(sql, &w, false);
        push(sql, " AND active = 1 ORDER BY price_cents LIMIT 50");
        tabs.push(("READ", "", "products"));
    }
    0
}

fn gen_billing(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO payments (invoice_id, amount_cents, method, reference, memo) VALUES (");
                push_num(sql, lv.a);
                push(sql, ", ");
                push_num(sql, lv.b);
                push(sql, ", 'card', 'ch_");
                push_hex(sql, rng, 24);
                push(sql, "', ");
                push_lit(sql, pick(rng, &MEMOS), rng.next_u64() & 1 == 0);
                push(sql, ")");
                tabs.push(("WRITE", "", "payments"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "UPDATE invoices SET status = 'paid', paid_at = ");
                push_dt_lit(sql, now);
                push(sql, " WHERE id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "invoices"));
                return 0;
            }
            _ => {
                lv.txn = 0;
                push(sql, "COMMIT");
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 30 {
        push(sql, "SELECT id, amount_cents, currency, status, due_date FROM invoices WHERE customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, " AND status = 'open' ORDER BY due_date");
        tabs.push(("READ", "", "invoices"));
    } else if r < 45 {
        push(
            sql,
            "/* app=billing */ UPDATE invoices SET status = 'paid', paid_at = ",
        );
        push_dt_lit(sql, now);
        push(sql, " WHERE id = ");
        push_num(sql, 100_000 + below(rng, 900_000));
        push(sql, " AND status = 'open'");
        tabs.push(("WRITE", "", "invoices"));
        return if rare(rng, 2000) { 1213 } else { 0 };
    } else if r < 60 && remaining >= 4 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 100_000 + below(rng, 900_000);
        lv.b = 100 + below(rng, 250_000);
        push(sql, "START TRANSACTION");
    } else if r < 75 {
        push(
            sql,
            "SELECT SUM(amount_cents) AS due\nFROM invoices\nWHERE customer_id = ",
        );
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, "\n  AND status <> 'void'\n  AND due_date < ");
        push_date_lit(sql, now);
        tabs.push(("READ", "", "invoices"));
    } else if r < 85 {
        push(sql, "INSERT INTO ledger_entries (account, debit_cents, credit_cents, description) VALUES ('4000-sales', 0, ");
        push_num(sql, 100 + below(rng, 250_000));
        push(sql, ", ");
        let desc = format!(
            "Facture n° {} — {}",
            10_000 + below(rng, 90_000),
            pick(rng, &NAMES)
        );
        push_lit(sql, &desc, rng.next_u64() & 1 == 0);
        push(sql, ")");
        tabs.push(("WRITE", "", "ledger_entries"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 95 {
        push(sql, "SELECT id, brand, last4, exp_month, exp_year FROM payment_methods WHERE customer_id = ");
        push_num(sql, 1 + below(rng, 500_000));
        push(sql, " AND is_default = 1");
        tabs.push(("READ", "", "payment_methods"));
    } else {
        push(
            sql,
            "SELECT COUNT(*) FROM invoices WHERE status = 'overdue' AND due_date < ",
        );
        push_date_lit(sql, now);
        tabs.push(("READ", "", "invoices"));
    }
    0
}

fn gen_reporting(rng: &mut R, now: i64, sql: &mut Vec<u8>, tabs: &mut Vec<Tab>) -> u32 {
    let r = below(rng, 100);
    let back = now - range(rng, 1, 30) * DAY_US;
    if r < 35 {
        // Some report tools send CRLF line ends.
        let nl = if r < 8 { "\r\n" } else { "\n" };
        for (k, part) in [
            "SELECT DATE(order_date) AS day,",
            "       region,",
            "       COUNT(*) AS orders,",
            "       SUM(revenue_cents) / 100.0 AS revenue",
            "FROM daily_sales",
        ]
        .iter()
        .enumerate()
        {
            if k > 0 {
                push(sql, nl);
            }
            push(sql, part);
        }
        push(sql, nl);
        push(sql, "WHERE order_date >= ");
        push_date_lit(sql, back);
        push(sql, " AND order_date < ");
        push_date_lit(sql, now);
        push(sql, nl);
        push(sql, "GROUP BY day, region");
        push(sql, nl);
        push(sql, "ORDER BY day, region");
        tabs.push(("READ", "", "daily_sales"));
    } else if r < 55 {
        push(
            sql,
            "SELECT region, SUM(revenue_cents) AS revenue FROM daily_sales WHERE order_date = ",
        );
        push_date_lit(sql, back);
        push(sql, " GROUP BY region ORDER BY revenue DESC");
        tabs.push(("READ", "", "daily_sales"));
    } else if r < 70 {
        push(sql, "/* report=weekly_kpi */ SELECT week, active_customers, churned_customers FROM kpi_weekly WHERE week >= ");
        push_date_lit(sql, back);
        push(sql, " ORDER BY week");
        tabs.push(("READ", "", "kpi_weekly"));
    } else if r < 88 {
        push(
            sql,
            "SELECT product_name, units FROM top_products WHERE region = ",
        );
        push_lit(sql, pick(rng, &REGIONS), false);
        push(sql, " AND day = ");
        push_date_lit(sql, back);
        push(sql, " ORDER BY units DESC LIMIT 10");
        tabs.push(("READ", "", "top_products"));
    } else {
        push(sql, "WITH cohort AS (\n  SELECT customer_id, MIN(order_date) AS first_day\n  FROM daily_orders\n  GROUP BY customer_id\n)\nSELECT first_day, COUNT(*) AS customers\nFROM cohort\nWHERE first_day >= ");
        push_date_lit(sql, back);
        push(sql, "\nGROUP BY first_day\nORDER BY first_day");
        tabs.push(("READ", "", "daily_orders"));
        return if rare(rng, 3000) { 3024 } else { 0 };
    }
    0
}

fn gen_etl(
    lv: &mut Live,
    rng: &mut R,
    now: i64,
    remaining: u32,
    sql: &mut Vec<u8>,
    tabs: &mut Vec<Tab>,
) -> u32 {
    if lv.txn != 0 {
        lv.tstep += 1;
        match lv.tstep {
            1 => {
                push(sql, "INSERT INTO fact_orders (order_id, customer_key, amount_cents, day)\nSELECT order_id, customer_key, amount_cents, DATE(created_at)\nFROM staging_orders\nWHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("READ", "", "staging_orders"));
                tabs.push(("WRITE", "", "fact_orders"));
                return if rare(rng, 500) { 1062 } else { 0 };
            }
            2 => {
                push(sql, "DELETE FROM staging_orders WHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "staging_orders"));
                return 0;
            }
            3 => {
                push(
                    sql,
                    "UPDATE etl_batches SET status = 'done', finished_at = ",
                );
                push_dt_lit(sql, now);
                push(sql, " WHERE batch_id = ");
                push_num(sql, lv.a);
                tabs.push(("WRITE", "", "etl_batches"));
                return 0;
            }
            _ => {
                lv.txn = 0;
                push(sql, "COMMIT");
                return 0;
            }
        }
    }
    let r = below(rng, 100);
    if r < 35 {
        // Bulk inserts of JSON events; once in a while large enough to hit the 1024-byte
        // query log limit and be cut.
        let rows = if rare(rng, 300) {
            12 + below(rng, 8)
        } else {
            2 + below(rng, 5)
        };
        let base = 9_000_000 + below(rng, 90_000_000);
        push(
            sql,
            "INSERT INTO staging_events (event_id, kind, payload, received_at) VALUES ",
        );
        for k in 0..rows {
            if k > 0 {
                push(sql, ", ");
            }
            push(sql, "(");
            push_num(sql, base + k);
            push(sql, ", '");
            push(
                sql,
                pick(rng, &["click", "view", "add_to_cart", "checkout"]),
            );
            push(sql, "', ");
            let payload = format!(
                "{{\"user\":\"{}\",\"city\":\"{}\",\"path\":\"C:\\\\data\\\\in\\\\{}.json\",\"tag\":\"{}\"}}",
                pick(rng, &NAMES).replace('"', "\\\""),
                pick(rng, &CITIES),
                below(rng, 1000),
                pick(rng, &WORDS)
            );
            push_lit(sql, &payload, false);
            push(sql, ", ");
            push_dt_lit(sql, now);
            push(sql, ")");
        }
        tabs.push(("WRITE", "", "staging_events"));
        return if rare(rng, 500) { 1062 } else { 0 };
    } else if r < 50 && remaining >= 5 {
        lv.txn = 1;
        lv.tstep = 0;
        lv.a = 40_000 + below(rng, 60_000);
        push(sql, "START TRANSACTION");
    } else if r < 65 {
        push(sql, "UPDATE dim_customer SET city = ");
        push_lit(sql, pick(rng, &CITIES), false);
        push(sql, ", updated_at = ");
        push_dt_lit(sql, now);
        push(sql, " WHERE customer_key = ");
        push_num(sql, 1 + below(rng, 500_000));
        tabs.push(("WRITE", "", "dim_customer"));
    } else if r < 80 {
        push(sql, "SELECT MAX(event_id) FROM staging_events");
        tabs.push(("READ", "", "staging_events"));
    } else if r < 90 {
        push(sql, "SELECT batch_id, status, rows_loaded FROM etl_batches WHERE status IN ('running', 'queued') ORDER BY batch_id");
        tabs.push(("READ", "", "etl_batches"));
    } else {
        push(
            sql,
            "INSERT INTO etl_batches (source, status, started_at) VALUES ('s3://acme-events/",
        );
        let (y, m, d) = civil_from_days(now.div_euclid(DAY_US));
        let path = format!(
            "{y:04}/{m:02}/{d:02}/part-{:05}.json.gz",
            below(rng, 100_000)
        );
        push(sql, &path);
        push(sql, "', 'running', ");
        push_dt_lit(sql, now);
        push(sql, ")");
        tabs.push(("WRITE", "", "etl_batches"));
    }
    0
}
