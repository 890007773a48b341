/*
 * A warm MariaDB read call's protocol steps, from a C client, with no Plenum: what the MySQL
 * plugin sends per call on a pooled session (plugins/mysql/src/session.rs), in the order it
 * sends them:
 *
 *   COM_RESET_CONNECTION                     (the reset before reuse)
 *   the role and session settings            (one multi-statement COM_QUERY)
 *   COM_STMT_PREPARE of the call's query     (the reset dropped the last one)
 *   COM_STMT_EXECUTE, every row read         (binary protocol)
 *   COM_STMT_CLOSE                           (no reply)
 *   ROLLBACK
 *
 * The statements come from a file of `;`-separated statements (bench/floor/mariadb-call.sql):
 * the last is the ROLLBACK, the one before it the query, the rest the settings. N clients, one
 * connection and one thread each, for S seconds; prints calls/s. `mariadb-slap` cannot send
 * the reset or prepare, so this is the floor with every step a warm call pays. With `text` as
 * the last argument the query goes as a COM_QUERY instead of prepare and execute: one round
 * trip less than the plugin, to show what a driver without the prepare could reach.
 *
 *   cc -O2 -o mariadb-call bench/floor/mariadb-call.c $(mariadb_config --cflags --libs) -lpthread
 *   ./mariadb-call HOST PORT USER DATABASE SECONDS CLIENTS bench/floor/mariadb-call.sql [text]
 */
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients.h"

static const char *host, *user, *database;
static unsigned int port;
static char settings[16384], query[16384], rollback[256];
static int text_query;

static void fail(MYSQL *conn, const char *step) {
    fprintf(stderr, "mariadb-call: %s: %s\n", step, mysql_error(conn));
    atomic_fetch_add(&failures, 1);
}

/* A multi-statement text query, every result read. */
static int run_text(MYSQL *conn, const char *sql) {
    if (mysql_real_query(conn, sql, strlen(sql)) != 0) return -1;
    do {
        MYSQL_RES *result = mysql_store_result(conn);
        if (result) mysql_free_result(result);
    } while (mysql_next_result(conn) == 0);
    return mysql_errno(conn) ? -1 : 0;
}

static void *client(void *unused) {
    (void)unused;
    MYSQL *conn = mysql_init(NULL);
    my_bool no = 0;
    mysql_options(conn, MYSQL_OPT_SSL_ENFORCE, &no);
    if (!mysql_real_connect(conn, host, user, NULL, database, port, NULL,
                            CLIENT_MULTI_STATEMENTS)) {
        fail(conn, "connect");
        return NULL;
    }
    while (!atomic_load(&stop)) {
        if (mysql_reset_connection(conn) != 0) { fail(conn, "reset"); break; }
        if (run_text(conn, settings) != 0) { fail(conn, "settings"); break; }
        if (text_query) {
            if (run_text(conn, query) != 0) { fail(conn, "query"); break; }
            if (run_text(conn, rollback) != 0) { fail(conn, "rollback"); break; }
            atomic_fetch_add(&calls, 1);
            continue;
        }
        MYSQL_STMT *stmt = mysql_stmt_init(conn);
        if (!stmt || mysql_stmt_prepare(stmt, query, strlen(query)) != 0) {
            fail(conn, "prepare");
            break;
        }
        if (mysql_stmt_execute(stmt) != 0 || mysql_stmt_store_result(stmt) != 0) {
            fail(conn, "execute");
            break;
        }
        mysql_stmt_free_result(stmt);
        mysql_stmt_close(stmt);
        if (run_text(conn, rollback) != 0) { fail(conn, "rollback"); break; }
        atomic_fetch_add(&calls, 1);
    }
    mysql_close(conn);
    return NULL;
}

/* Splits the file at `;` (the statements hold none): settings, query, rollback. */
static int read_statements(const char *path) {
    static char text[16384];
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = 0;
    while (length && (text[length - 1] == '\n' || text[length - 1] == ';')) text[--length] = 0;
    char *last = strrchr(text, ';');
    if (!last) return -1;
    *last = 0;
    snprintf(rollback, sizeof rollback, "%s", last + 1);
    char *before = strrchr(text, ';');
    if (!before) return -1;
    *before = 0;
    snprintf(query, sizeof query, "%s", before + 1);
    snprintf(settings, sizeof settings, "%s", text);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 8 && !(argc == 9 && strcmp(argv[8], "text") == 0)) {
        fprintf(stderr, "usage: %s HOST PORT USER DATABASE SECONDS CLIENTS STATEMENTS.sql [text]\n",
                argv[0]);
        return 2;
    }
    text_query = argc == 9;
    host = argv[1];
    port = (unsigned int)atoi(argv[2]);
    user = argv[3];
    database = argv[4];
    int seconds = atoi(argv[5]), clients = atoi(argv[6]);
    if (read_statements(argv[7]) != 0 || clients < 1 || clients > 256) {
        fprintf(stderr, "mariadb-call: bad arguments or statement file\n");
        return 2;
    }
    mysql_library_init(0, NULL, NULL);
    return run_clients(client, clients, seconds);
}
