#!/usr/bin/env python3
"""Deterministic benchmark data for Plenum: an `events` table (1,000,000 rows by default) with
integers, reals, text, timestamps and NULLs, `events_1k` (its first 1,000 rows, the small twin
for memory comparisons) and a small `users` table, loaded into SQLite, PostgreSQL and MariaDB.

Every value is a pure function of the row number, so every engine holds the same data and every
run produces the same bytes. A `bench_meta` table records the generator version and row count;
an engine that already holds this exact data set is left alone.

    bench/generate.py --dir target/bench [--rows 1000000] [--engines sqlite,postgres,mariadb]

Servers are reached with the native clients (`psql`, `mariadb`) over TCP; see `--help` for the
connection options. The server databases are named `plenum_bench` and are dropped and created
again when their data is missing or stale.
"""

import argparse
import datetime
import glob
import os
import sqlite3
import subprocess
import sys

# Bump when the data changes, so existing databases are rebuilt.
GENERATOR_VERSION = 1
DATABASE = "plenum_bench"
SMALL_ROWS = 1000
USERS = 1000

KINDS = ["click", "view", "purchase", "signup", "login", "logout", "search", "share"]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
EPOCH = datetime.datetime(2024, 1, 1)

# One schema, spelled per engine: id, user_id, kind, amount (NULL every 7th row), score (NULL
# every 11th, negative half the time), created_at, note (NULL on even rows, with quotes and
# non-ASCII text now and then so JSON and CSV escaping is exercised).
SCHEMAS = {
    "sqlite": {
        "events": "id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL, "
        "amount REAL, score INTEGER, created_at TEXT NOT NULL, note TEXT",
        "users": "id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
        "created_at TEXT NOT NULL",
    },
    "postgres": {
        "events": "id bigint PRIMARY KEY, user_id integer NOT NULL, kind text NOT NULL, "
        "amount double precision, score integer, created_at timestamp NOT NULL, note text",
        "users": "id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, "
        "created_at timestamp NOT NULL",
    },
    "mariadb": {
        "events": "id BIGINT PRIMARY KEY, user_id INT NOT NULL, kind VARCHAR(16) NOT NULL, "
        "amount DOUBLE, score INT, created_at DATETIME NOT NULL, note VARCHAR(200)",
        "users": "id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, email VARCHAR(128) NOT NULL, "
        "created_at DATETIME NOT NULL",
    },
}


def event(i):
    """Row `i` (1-based) of `events`, as Python values (None = NULL)."""
    amount = None if i % 7 == 0 else ((i * 2654435761) % 100000) / 100
    score = None if i % 11 == 0 else (i * 48271) % 2147483647 - 1073741823
    created_at = (EPOCH + datetime.timedelta(seconds=i * 17)).strftime("%Y-%m-%d %H:%M:%S")
    if i % 2 == 0:
        note = None
    else:
        words = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 2 + i % 9))
        if i % 5 == 1:
            note = f'note {i}: "{words}"'
        elif i % 5 == 3:
            note = f"note {i}: café {words} ✓"
        else:
            note = f"note {i}: {words}"
    return (i, 1 + (i * 7919) % USERS, KINDS[(i * 31) % len(KINDS)], amount, score, created_at,
            note)


def user(i):
    """Row `i` (1-based) of `users`."""
    created_at = (EPOCH - datetime.timedelta(days=i % 365, seconds=i * 7)).strftime(
        "%Y-%m-%d %H:%M:%S")
    return (i, f"user {i}", f"user{i}@example.com", created_at)


def tsv_field(value):
    """One field of the tab-separated text format both PostgreSQL's COPY and MariaDB's LOAD
    DATA read by default; the data holds no tabs, newlines or backslashes."""
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write("\t".join(tsv_field(value) for value in row))
            out.write("\n")


def log(message):
    print(f"generate: {message}", file=sys.stderr, flush=True)


class CommandFailed(Exception):
    """A client command exited with an error."""


def run(command, stdin_text=None):
    result = subprocess.run(command, input=stdin_text, text=True, capture_output=True)
    if result.returncode != 0:
        raise CommandFailed(f"{os.path.basename(command[0])} failed: {result.stderr.strip()}")
    return result.stdout


class Sqlite:
    name = "sqlite"

    def __init__(self, args):
        self.path = os.path.join(args.dir, "bench.sqlite")

    def loaded(self, rows):
        if not os.path.exists(self.path):
            return False
        try:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            meta = connection.execute("SELECT version, events FROM bench_meta").fetchone()
            connection.close()
        except sqlite3.Error:
            return False
        return meta == (GENERATOR_VERSION, rows)

    def load(self, rows, tsv_dir):
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        connection = sqlite3.connect(self.path)
        schema = SCHEMAS["sqlite"]
        connection.execute(f"CREATE TABLE events ({schema['events']})")
        connection.execute(f"CREATE TABLE events_1k ({schema['events']})")
        connection.execute(f"CREATE TABLE users ({schema['users']})")
        connection.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)",
                               (event(i) for i in range(1, rows + 1)))
        connection.execute(f"INSERT INTO events_1k SELECT * FROM events WHERE id <= {SMALL_ROWS}")
        connection.executemany("INSERT INTO users VALUES (?,?,?,?)",
                               (user(i) for i in range(1, USERS + 1)))
        connection.execute("CREATE TABLE bench_meta (version INTEGER, events INTEGER)")
        connection.execute("INSERT INTO bench_meta VALUES (?, ?)", (GENERATOR_VERSION, rows))
        connection.commit()
        connection.execute("VACUUM")
        connection.close()


class Postgres:
    name = "postgres"

    def __init__(self, args):
        psql = args.psql or newest_psql()
        self.base = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", args.pg_host, "-p",
                     str(args.pg_port), "-U", args.pg_user]

    def sql(self, database, text):
        return run(self.base + ["-d", database, "-At", "-c", text])

    def loaded(self, rows):
        try:
            meta = self.sql(DATABASE, "SELECT version, events FROM bench_meta").strip()
        except CommandFailed:
            return False
        return meta == f"{GENERATOR_VERSION}|{rows}"

    def load(self, rows, tsv_dir):
        self.sql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")
        self.sql("postgres", f"CREATE DATABASE {DATABASE}")
        schema = SCHEMAS["postgres"]
        script = f"""
CREATE TABLE events ({schema['events']});
CREATE TABLE users ({schema['users']});
\\copy events FROM '{os.path.join(tsv_dir, 'events.tsv')}'
\\copy users FROM '{os.path.join(tsv_dir, 'users.tsv')}'
CREATE TABLE events_1k AS SELECT * FROM events WHERE id <= {SMALL_ROWS};
ALTER TABLE events_1k ADD PRIMARY KEY (id);
CREATE TABLE bench_meta (version integer, events integer);
INSERT INTO bench_meta VALUES ({GENERATOR_VERSION}, {rows});
VACUUM ANALYZE;
"""
        run(self.base + ["-d", DATABASE], stdin_text=script)


class Mariadb:
    name = "mariadb"

    def __init__(self, args):
        self.base = [args.mariadb, "--protocol=TCP", "-h", args.my_host, "-P", str(args.my_port),
                     "-u", args.my_user, "--local-infile=1", "-N", "-B"]

    def sql(self, text, database=None):
        return run(self.base + ([database] if database else []) + ["-e", text])

    def loaded(self, rows):
        try:
            meta = self.sql("SELECT version, events FROM bench_meta", DATABASE).strip()
        except CommandFailed:
            return False
        return meta == f"{GENERATOR_VERSION}\t{rows}"

    def load(self, rows, tsv_dir):
        self.sql(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE} "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        schema = SCHEMAS["mariadb"]
        events = os.path.join(tsv_dir, "events.tsv")
        users = os.path.join(tsv_dir, "users.tsv")
        self.sql(f"""
CREATE TABLE events ({schema['events']}) ENGINE=InnoDB;
CREATE TABLE users ({schema['users']}) ENGINE=InnoDB;
LOAD DATA LOCAL INFILE '{events}' INTO TABLE events CHARACTER SET utf8mb4;
LOAD DATA LOCAL INFILE '{users}' INTO TABLE users CHARACTER SET utf8mb4;
CREATE TABLE events_1k LIKE events;
INSERT INTO events_1k SELECT * FROM events WHERE id <= {SMALL_ROWS};
CREATE TABLE bench_meta (version INT, events INT);
INSERT INTO bench_meta VALUES ({GENERATOR_VERSION}, {rows});
ANALYZE TABLE events, events_1k, users;
""", DATABASE)


def newest_psql():
    """The real psql binary: Debian's /usr/bin/psql is a Perl wrapper."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return found[-1] if found else "psql"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, help="where the SQLite file and TSV files go")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres,mariadb")
    parser.add_argument("--psql", help="psql binary (default: newest /usr/lib/postgresql/*/bin/psql)")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--mariadb", default="mariadb", help="mariadb (or mysql) client binary")
    parser.add_argument("--my-host", default="127.0.0.1")
    parser.add_argument("--my-port", type=int, default=3306)
    parser.add_argument("--my-user", default="root")
    args = parser.parse_args()
    if args.rows < SMALL_ROWS:
        raise SystemExit(f"generate: --rows must be at least {SMALL_ROWS}")

    os.makedirs(args.dir, exist_ok=True)
    args.dir = os.path.abspath(args.dir)
    engines = {"sqlite": Sqlite, "postgres": Postgres, "mariadb": Mariadb}
    wanted = [name.strip() for name in args.engines.split(",") if name.strip()]
    for name in wanted:
        if name not in engines:
            raise SystemExit(f"generate: unknown engine '{name}' (sqlite, postgres, mariadb)")

    tsv_dir = os.path.join(args.dir, "tsv")
    tsv_ready = False
    for name in wanted:
        engine = engines[name](args)
        if engine.loaded(args.rows):
            log(f"{name}: already holds version {GENERATOR_VERSION}, {args.rows} rows")
            continue
        if name != "sqlite" and not tsv_ready:
            os.makedirs(tsv_dir, exist_ok=True)
            log(f"writing {args.rows} rows of TSV to {tsv_dir}")
            write_tsv(os.path.join(tsv_dir, "events.tsv"),
                      (event(i) for i in range(1, args.rows + 1)))
            write_tsv(os.path.join(tsv_dir, "users.tsv"), (user(i) for i in range(1, USERS + 1)))
            tsv_ready = True
        log(f"{name}: loading {args.rows} rows")
        try:
            engine.load(args.rows, tsv_dir)
        except CommandFailed as error:
            raise SystemExit(f"generate: {name}: {error}")
        if not engine.loaded(args.rows):
            raise SystemExit(f"generate: {name}: the data did not load")
        log(f"{name}: loaded")


if __name__ == "__main__":
    main()
