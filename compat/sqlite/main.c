/* sqlite-bank: tellers (threads) moving money between accounts of one SQLite
 * database file, each on its own connection.  SQLite decides who may write
 * (its file locks and its own mutexes); a teller that finds the database
 * locked sleeps in its busy handler and tries again.  A teller
 * pauses inside each transfer and between two (usleep: waiting for its
 * customer), so the others find the database locked, and the commits of
 * different tellers interleave.  Every few transfers a teller checks in a
 * read transaction that the money adds up.  Prints what the database holds
 * at the end, which does not depend on the order the transfers ran in.
 *
 *   sqlite-bank DB wal|delete THREADS TRANSFERS */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sqlite3.h"

#define ACCOUNTS 16
#define OPENING 1000

static const char *db_path;
static int transfers;
static unsigned long bad_sums;   /* read transactions that saw money appear or vanish */
static unsigned long busy_waits; /* times a teller found the database locked and slept */

/* sqlite3_busy_timeout's handler, counted: sleep a millisecond (sqlite3_sleep: SQLite's own
 * sleep, usleep underneath) and try again, for at most ten minutes. */
static int busy(void *arg, int tries)
{
	__atomic_add_fetch(&busy_waits, 1, __ATOMIC_RELAXED);
	if (tries >= 600000)
		return 0;
	sqlite3_sleep(1);
	return 1;
}

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite-bank: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite-bank: %s: %s\n", sql, err);
		exit(1);
	}
}

static sqlite3 *open_db(void)
{
	sqlite3 *db;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL))
		die(db, "open");
	sqlite3_busy_handler(db, busy, NULL);
	exec(db, "PRAGMA synchronous=NORMAL");
	return db;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die(db, sql);
	return s;
}

static void step_done(sqlite3 *db, sqlite3_stmt *s)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		die(db, sqlite3_sql(s));
	sqlite3_reset(s);
}

static void *teller(void *arg)
{
	int me = (int)(intptr_t)arg;
	sqlite3 *db = open_db();
	sqlite3_stmt *move = prepare(db, "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1");
	sqlite3_stmt *note = prepare(db, "INSERT INTO log(teller, seq, src, dst, amount) VALUES (?, ?, ?, ?, ?)");
	sqlite3_stmt *sum = prepare(db, "SELECT sum(balance) FROM accounts");
	uint32_t x = 2463534242u + (uint32_t)me * 7919u; /* xorshift: this teller's transfers */
	for (int seq = 0; seq < transfers; seq++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		int src = (int)(x % ACCOUNTS), dst = (int)((x >> 8) % ACCOUNTS), amount = (int)((x >> 16) % 100) + 1;
		exec(db, "BEGIN IMMEDIATE");
		sqlite3_bind_int(move, 1, src), sqlite3_bind_int(move, 2, -amount), step_done(db, move);
		usleep(100);
		sqlite3_bind_int(move, 1, dst), sqlite3_bind_int(move, 2, amount), step_done(db, move);
		int v[] = { me, seq, src, dst, amount };
		for (int i = 0; i < 5; i++)
			sqlite3_bind_int(note, i + 1, v[i]);
		step_done(db, note);
		exec(db, "COMMIT");
		usleep(200);
		if (seq % 10 == 9) {
			exec(db, "BEGIN");
			if (sqlite3_step(sum) != SQLITE_ROW)
				die(db, "sum");
			if (sqlite3_column_int64(sum, 0) != (sqlite3_int64)ACCOUNTS * OPENING)
				__atomic_add_fetch(&bad_sums, 1, __ATOMIC_RELAXED);
			sqlite3_reset(sum);
			exec(db, "COMMIT");
		}
	}
	sqlite3_finalize(move);
	sqlite3_finalize(note);
	sqlite3_finalize(sum);
	sqlite3_close(db);
	return NULL;
}

/* Prints every row of `sql`, columns separated by spaces. */
static void print_rows(sqlite3 *db, const char *label, const char *sql)
{
	sqlite3_stmt *s = prepare(db, sql);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		printf("%s", label);
		for (int i = 0; i < sqlite3_column_count(s); i++)
			printf(" %s", (const char *)sqlite3_column_text(s, i));
		printf("\n");
	}
	if (rc != SQLITE_DONE)
		die(db, sql);
	sqlite3_finalize(s);
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[2], "wal") != 0 && strcmp(argv[2], "delete") != 0)) {
		fprintf(stderr, "usage: sqlite-bank DB wal|delete THREADS TRANSFERS\n");
		return 2;
	}
	db_path = argv[1];
	int threads = atoi(argv[3]);
	transfers = atoi(argv[4]);
	remove(db_path);
	sqlite3 *db = open_db();
	char sql[256];
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", argv[2]);
	print_rows(db, "journal", sql);
	exec(db, "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
		 "CREATE TABLE log(teller INTEGER, seq INTEGER, src INTEGER, dst INTEGER, amount INTEGER,"
		 " PRIMARY KEY(teller, seq))");
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)"
		 " INSERT INTO accounts SELECT i, %d FROM n",
		 ACCOUNTS, OPENING);
	exec(db, sql);

	pthread_t *t = malloc(sizeof *t * (size_t)threads);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, teller, (void *)(intptr_t)i) != 0)
			die(NULL, "pthread_create");
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);

	print_rows(db, "account", "SELECT id, balance FROM accounts ORDER BY id");
	print_rows(db, "total", "SELECT sum(balance) FROM accounts");
	print_rows(db, "teller", "SELECT teller, count(*), sum(amount) FROM log GROUP BY teller ORDER BY teller");
	print_rows(db, "integrity", "PRAGMA integrity_check");
	/* Commit order is rowid order: did another teller commit between two of one teller's transfers? */
	print_rows(db, "interleaved",
		   "SELECT CASE WHEN count(*) > 0 THEN 'yes' ELSE 'no' END FROM log a JOIN log b"
		   " ON b.rowid = (SELECT min(rowid) FROM log WHERE rowid > a.rowid) WHERE a.teller != b.teller");
	printf("unbalanced reads %lu\n", bad_sums);
	printf("tellers found the database locked: %s\n", busy_waits > 0 ? "yes" : "no");
	fprintf(stderr, "sqlite-bank: %lu busy waits\n", busy_waits);
	sqlite3_close(db);
	return 0;
}
