/* The resolver: getaddrinfo, getnameinfo, gethostbyname(2)(_r) and
 * gethostbyaddr(_r) park only their caller, with glibc's results, errors,
 * errno and h_errno.  Built with capcc and with gcc -pthread (see
 * ticker.h).  Only names that resolve without a network: localhost,
 * 127.0.0.1, services from /etc/services.
 *
 * A lookup that waits: for a name without dots, glibc's DNS backend first
 * reads the aliases file named by HOSTALIASES.  Here that is a FIFO, which
 * the lookup waits to open until the test writes to it — once the ticker
 * has ticked in the window.  The alias it writes is a name too long for a
 * DNS query, so the lookup then fails without sending one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ticker.h"

#define TICKS_BEFORE_ENDING (TICKER_MIN + 2)
#define ALIAS "capriccioalias"

static char dir[64], fifo[96], aliases[96], alias_line[400];

/* Feeds the aliases FIFO to every lookup that opens it, once the ticker
 * has ticked in the window, until the waiter is done. */
struct feeder {
	pthread_t thread;
	volatile int done;
};
static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	ticker_await(TICKS_BEFORE_ENDING);
	while (!f->done) {
		int fd = open(fifo, O_WRONLY | O_NONBLOCK); /* ENXIO while no lookup has it open */
		if (fd >= 0) {
			if (write(fd, alias_line, strlen(alias_line)) < 0)
				perror("write");
			close(fd);
		}
		usleep(1000);
	}
	return NULL;
}
static void feed_start(struct feeder *f)
{
	f->done = 0;
	setenv("HOSTALIASES", fifo, 1);
	pthread_create(&f->thread, NULL, feed_main, f);
}
static void feed_stop(struct feeder *f)
{
	f->done = 1;
	pthread_join(f->thread, NULL);
	unsetenv("HOSTALIASES");
}

static void getaddrinfo_parks_only_its_caller(void)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct feeder f;
	feed_start(&f);
	TICKER_OPEN();
	int r = getaddrinfo(ALIAS, "http", &hints, &res);
	CHECK_TICKED(TICKER_CLOSE());
	feed_stop(&f);
	CHECK_EQ(r, EAI_NONAME);
	CHECK(res == NULL);
}

static void gethostbyname_parks_only_its_caller(void)
{
	struct feeder f;
	feed_start(&f);
	h_errno = 0;
	TICKER_OPEN();
	struct hostent *h = gethostbyname(ALIAS);
	CHECK_TICKED(TICKER_CLOSE());
	feed_stop(&f);
	CHECK(h == NULL);
	CHECK_EQ(h_errno, NO_RECOVERY);
}

/* Lookups that never wait here: while one thread keeps making them, the
 * ticker must get to tick; a call that stopped every thread would keep it
 * from running until the loop gives up. */
static void lookups_in_a_loop_let_others_run(int by_addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char host[64], serv[32];
	int bad = 0;
	TICKER_OPEN();
	for (long i = 0; i < 20000 && ticker_state.ticks < TICKER_MIN; i++) {
		if (by_addr) {
			struct hostent *h = gethostbyaddr(&sin.sin_addr, sizeof sin.sin_addr, AF_INET);
			bad += !h || strcmp(h->h_name, "localhost") != 0;
		} else {
			bad += getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv, sizeof serv, 0) != 0;
		}
	}
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(bad, 0);
}
static void getnameinfo_lets_others_run(void) { lookups_in_a_loop_let_others_run(0); }
static void gethostbyaddr_lets_others_run(void) { lookups_in_a_loop_let_others_run(1); }

/* ---- glibc's results ---------------------------------------------------- */

static void getaddrinfo_answers_as_in_glibc(void)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
	CHECK_EQ(getaddrinfo("localhost", "http", &hints, &res), 0);
	CHECK(res != NULL);
	if (res) {
		struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
		CHECK_EQ(res->ai_family, AF_INET);
		CHECK_EQ(res->ai_socktype, SOCK_STREAM);
		CHECK_EQ(ntohs(a->sin_port), 80);
		CHECK_EQ(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
		freeaddrinfo(res);
	}
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	res = NULL;
	CHECK_EQ(getaddrinfo("127.0.0.1", "8080", &hints, &res), 0);
	if (res) {
		CHECK_EQ(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 8080);
		freeaddrinfo(res);
	}
	hints.ai_flags = AI_PASSIVE;
	res = NULL;
	CHECK_EQ(getaddrinfo(NULL, "80", &hints, &res), 0);
	if (res) {
		CHECK_EQ(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, htonl(INADDR_ANY));
		freeaddrinfo(res);
	}

	hints.ai_flags = 0;
	CHECK_EQ(getaddrinfo("localhost", "no-such-service-capriccio", &hints, &res), EAI_SERVICE);
	CHECK_EQ(getaddrinfo(NULL, NULL, &hints, &res), EAI_NONAME);
	hints.ai_flags = AI_NUMERICHOST;
	CHECK_EQ(getaddrinfo("localhost", NULL, &hints, &res), EAI_NONAME);
	hints.ai_flags = 0x10000;
	CHECK_EQ(getaddrinfo("localhost", NULL, &hints, &res), EAI_BADFLAGS);
	hints.ai_flags = 0;
	hints.ai_family = 12345;
	CHECK_EQ(getaddrinfo("localhost", NULL, &hints, &res), EAI_FAMILY);
}

static void getnameinfo_answers_as_in_glibc(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char host[64] = "", serv[32] = "", tiny[3];
	CHECK_EQ(getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv, sizeof serv, 0), 0);
	CHECK(strcmp(host, "localhost") == 0);
	CHECK(strcmp(serv, "http") == 0);
	CHECK_EQ(getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv, sizeof serv,
			     NI_NUMERICHOST | NI_NUMERICSERV),
		 0);
	CHECK(strcmp(host, "127.0.0.1") == 0);
	CHECK(strcmp(serv, "80") == 0);
	CHECK_EQ(getnameinfo((struct sockaddr *)&sin, sizeof sin, tiny, sizeof tiny, NULL, 0, 0), EAI_OVERFLOW);
	CHECK_EQ(getnameinfo((struct sockaddr *)&sin, 3, host, sizeof host, NULL, 0, 0), EAI_FAMILY);
}

static void gethostbyname_answers_as_in_glibc(void)
{
	struct hostent *h = gethostbyname("localhost");
	CHECK(h != NULL);
	if (h) {
		CHECK(strcmp(h->h_name, "localhost") == 0);
		CHECK_EQ(h->h_addrtype, AF_INET);
		CHECK_EQ(h->h_length, 4);
		CHECK(h->h_addr_list[0] && memcmp(h->h_addr_list[0], "\x7f\0\0\x01", 4) == 0);
	}
	h = gethostbyname2("127.0.0.1", AF_INET);
	CHECK(h != NULL && h->h_addrtype == AF_INET);

	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	h = gethostbyaddr(&lo, sizeof lo, AF_INET);
	CHECK(h != NULL && strcmp(h->h_name, "localhost") == 0);

	/* An aliases file whose alias cannot be queried: h_errno NO_RECOVERY. */
	int fd = open(aliases, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, alias_line, strlen(alias_line)) == (ssize_t)strlen(alias_line));
	close(fd);
	setenv("HOSTALIASES", aliases, 1);
	h_errno = 0;
	CHECK(gethostbyname(ALIAS) == NULL);
	CHECK_EQ(h_errno, NO_RECOVERY);
	unsetenv("HOSTALIASES");

	struct hostent he, *res = NULL;
	char buf[1024], small[8];
	int herr = -1;
	CHECK_EQ(gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr), 0);
	CHECK(res == &he && strcmp(he.h_name, "localhost") == 0);
	errno = 0;
	CHECK_EQ(gethostbyname_r("localhost", &he, small, sizeof small, &res, &herr), ERANGE);
	CHECK(res == NULL);
	CHECK_EQ(herr, NETDB_INTERNAL);
	CHECK_EQ(errno, ERANGE);
	res = NULL;
	CHECK_EQ(gethostbyname2_r("127.0.0.1", AF_INET, &he, buf, sizeof buf, &res, &herr), 0);
	CHECK(res == &he);
	res = NULL;
	CHECK_EQ(gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf, sizeof buf, &res, &herr), 0);
	CHECK(res == &he && strcmp(he.h_name, "localhost") == 0);
}

int main(void)
{
	alarm(120); /* a build whose lookup stops every thread is killed: a failure, not a hang */
	snprintf(dir, sizeof dir, "/tmp/capriccio-resolver-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(aliases, sizeof aliases, "%s/aliases", dir);
	if (mkfifo(fifo, 0600) != 0)
		return 1;
	snprintf(alias_line, sizeof alias_line, "%s %0300d\n", ALIAS, 0);
	ticker_start();
	RUN(getaddrinfo_parks_only_its_caller);
	RUN(gethostbyname_parks_only_its_caller);
	RUN(getnameinfo_lets_others_run);
	RUN(gethostbyaddr_lets_others_run);
	RUN(getaddrinfo_answers_as_in_glibc);
	RUN(getnameinfo_answers_as_in_glibc);
	RUN(gethostbyname_answers_as_in_glibc);
	ticker_stop();
	unlink(fifo);
	unlink(aliases);
	rmdir(dir);
	TAP_DONE();
}
