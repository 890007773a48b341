-- The small shop database shipped as examples/demo.db (rebuild: sqlite3 demo.db < demo.sql).
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    tags TEXT
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL DEFAULT 1,
    ordered_at TEXT NOT NULL
);
CREATE INDEX orders_by_user ON orders(user_id);
CREATE VIEW revenue_by_user AS
    SELECT u.name, sum(o.quantity * p.price_cents) / 100.0 AS revenue
    FROM orders o JOIN users u ON u.id = o.user_id JOIN products p ON p.id = o.product_id
    GROUP BY u.id;

INSERT INTO users VALUES
    (1, 'Ada Lovelace', 'ada@example.com', '2026-01-04T09:12:00Z'),
    (2, 'Grace Hopper', 'grace@example.com', '2026-02-11T15:40:00Z'),
    (3, 'Edsger Dijkstra', 'edsger@example.com', '2026-03-20T08:05:00Z'),
    (4, 'Barbara Liskov', 'barbara@example.com', '2026-05-02T17:30:00Z');
INSERT INTO products VALUES
    (1, 'Mechanical keyboard', 12900, '["hardware","input"]'),
    (2, 'Standing desk', 45900, '["furniture"]'),
    (3, 'Noise-cancelling headphones', 29900, '["hardware","audio"]');
INSERT INTO orders VALUES
    (1, 1, 1, 1, '2026-06-01T10:00:00Z'),
    (2, 1, 3, 2, '2026-06-03T11:30:00Z'),
    (3, 2, 2, 1, '2026-06-07T14:15:00Z'),
    (4, 3, 1, 3, '2026-07-19T09:45:00Z'),
    (5, 4, 3, 1, '2026-08-22T16:20:00Z');
