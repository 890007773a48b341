/*
 * A warm PostgreSQL read call's round trips, from a C client (libpq), with no Plenum: what
 * the PostgreSQL plugin sends per call on a pooled session (plugins/postgres/src/worker.rs), in
 * its order, one round trip each:
 *
 *   the session reset                        (one simple query of several statements)
 *   START TRANSACTION READ ONLY
 *   the login's powers                       (prepared once per connection, as the plugin keeps it)
 *   Parse of the call's query                (unnamed: each call's statement is new to the server)
 *   Bind, Execute, every row read
 *   ROLLBACK
 *
 * Six round trips where the plugin takes seven (it binds and executes a portal separately, to
 * stream with a row limit), so this is a best case. The statements come from
 * bench/floor/postgres-call.sql, which `pgbench` also runs: the lines between \startpipeline
 * and \endpipeline are the reset; then the transaction start, the powers query, the query
 * (its :client_id becomes 1) and the rollback. N clients, one connection and one thread each,
 * for S seconds; prints calls/s.
 *
 *   cc -O2 -o postgres-call bench/floor/postgres-call.c -I$(pg_config --includedir) -lpq -lpthread
 *   ./postgres-call 'host=127.0.0.1 user=postgres dbname=plenum_pgbench' SECONDS CLIENTS \
 *       bench/floor/postgres-call.sql
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients.h"

static const char *conninfo;
static char reset[16384], begin[256], powers[16384], query[16384], rollback[256];

static int ok(PGconn *conn, PGresult *result, const char *step) {
    ExecStatusType status = PQresultStatus(result);
    int fine = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!fine) {
        fprintf(stderr, "postgres-call: %s: %s\n", step, PQerrorMessage(conn));
        atomic_fetch_add(&failures, 1);
    }
    PQclear(result);
    return fine;
}

static void *client(void *unused) {
    (void)unused;
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "postgres-call: connect: %s\n", PQerrorMessage(conn));
        atomic_fetch_add(&failures, 1);
        PQfinish(conn);
        return NULL;
    }
    if (!ok(conn, PQprepare(conn, "powers", powers, 0, NULL), "prepare powers")) {
        PQfinish(conn);
        return NULL;
    }
    while (!atomic_load(&stop)) {
        if (!ok(conn, PQexec(conn, reset), "reset")) break;
        if (!ok(conn, PQexec(conn, begin), "begin")) break;
        if (!ok(conn, PQexecPrepared(conn, "powers", 0, NULL, NULL, NULL, 0), "powers")) break;
        if (!ok(conn, PQprepare(conn, "", query, 0, NULL), "parse")) break;
        if (!ok(conn, PQexecPrepared(conn, "", 0, NULL, NULL, NULL, 0), "execute")) break;
        if (!ok(conn, PQexec(conn, rollback), "rollback")) break;
        atomic_fetch_add(&calls, 1);
    }
    PQfinish(conn);
    return NULL;
}

/* Appends `line` to `into` (of `size` bytes) with a space between. */
static void append(char *into, size_t size, const char *line) {
    size_t used = strlen(into);
    snprintf(into + used, size - used, "%s%s", used ? " " : "", line);
}

static int read_statements(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    char line[4096];
    int in_pipeline = 0, after = 0;
    char *after_targets[] = {begin, powers, query, rollback};
    size_t after_sizes[] = {sizeof begin, sizeof powers, sizeof query, sizeof rollback};
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "\\startpipeline", 14) == 0) { in_pipeline = 1; continue; }
        if (strncmp(line, "\\endpipeline", 12) == 0) { in_pipeline = 0; continue; }
        if (!line[0] || line[0] == '\\') continue;
        if (in_pipeline) { append(reset, sizeof reset, line); continue; }
        if (after >= 4) { fclose(file); return -1; }
        char *client_id = strstr(line, ":client_id");
        if (client_id) {
            /* ":client_id" (10 characters) becomes "1" and 9 spaces. */
            memcpy(client_id, "1         ", 10);
        }
        append(after_targets[after], after_sizes[after], line);
        /* One statement per line; the semicolon ends the extended-protocol query too early. */
        char *target = after_targets[after];
        size_t length = strlen(target);
        if (length && target[length - 1] == ';') target[length - 1] = 0;
        after++;
    }
    fclose(file);
    return after == 4 && reset[0] ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s CONNINFO SECONDS CLIENTS STATEMENTS.sql\n", argv[0]);
        return 2;
    }
    conninfo = argv[1];
    int seconds = atoi(argv[2]), clients = atoi(argv[3]);
    if (read_statements(argv[4]) != 0 || clients < 1 || clients > 256) {
        fprintf(stderr, "postgres-call: bad arguments or statement file\n");
        return 2;
    }
    return run_clients(client, clients, seconds);
}
