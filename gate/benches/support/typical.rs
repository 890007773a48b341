//! The statements the gate benchmark and the instruction-count example run.

use plenum_gate::Dialect;

/// What agents typically send: point reads, joins with aggregates, CTEs, small writes. Every
/// statement is valid in the three dialects the shipped plugins declare.
pub const TYPICAL: &[&str] = &[
    "SELECT id, name, email FROM users WHERE id = 42",
    "SELECT * FROM events WHERE user_id = 7 ORDER BY created_at DESC LIMIT 20",
    "SELECT u.id, u.name, count(e.id) AS events, sum(e.amount) AS total \
     FROM users u LEFT JOIN events e ON e.user_id = u.id \
     WHERE e.created_at >= '2024-01-01' GROUP BY u.id, u.name ORDER BY total DESC LIMIT 10",
    "WITH recent AS (SELECT user_id, max(created_at) AS last_seen FROM events GROUP BY user_id) \
     SELECT users.name, recent.last_seen FROM users JOIN recent ON recent.user_id = users.id",
    "SELECT kind, count(*) FROM events WHERE amount IS NOT NULL AND score > 0 GROUP BY kind",
    "SELECT id FROM events WHERE id IN (SELECT id FROM events_1k WHERE note LIKE '%café%')",
    "INSERT INTO users (id, name, email) VALUES (1001, 'ann', 'ann@example.com')",
    "UPDATE events SET amount = amount * 1.1 WHERE id = 12345",
    "DELETE FROM events WHERE created_at < '2023-01-01'",
    "SELECT count(*) FROM events",
];

/// The dialects of the shipped plugins (SQLite, PostgreSQL, MySQL/MariaDB).
pub const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::PostgreSql, Dialect::MySql];
