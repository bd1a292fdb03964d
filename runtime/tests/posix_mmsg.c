/* recvmmsg and sendmmsg park only the caller, with glibc's (Linux's)
 * results: MSG_WAITFORONE, the timeout that is looked at only after each
 * datagram (and written back), MSG_DONTWAIT and O_NONBLOCK, SO_RCVTIMEO,
 * EINTR and SA_RESTART, partial sends. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ticker.h"
#include "sigtest.h"

#define BIG (512 * 1024)

static int sv[2];
static char bufs[8][64];
static struct mmsghdr msgs[8];
static struct iovec iovs[8];

/* A datagram socket pair; reads time out after 5 s (a call that blocked
 * every thread then fails instead of hanging). */
static void set_up(int type)
{
	CHECK_EQ(socketpair(AF_UNIX, type, 0, sv), 0);
	struct timeval rescue = { 5, 0 };
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rescue, sizeof rescue);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &rescue, sizeof rescue);
	memset(msgs, 0, sizeof msgs);
	for (int i = 0; i < 8; i++) {
		iovs[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

static void tear_down(void)
{
	close(sv[0]);
	close(sv[1]);
}

struct sender {
	int fd, count;
	long first_ms, gap_ms;
};

static void *send_later(void *arg)
{
	struct sender *s = arg;
	sleep_ms(s->first_ms);
	for (int i = 0; i < s->count; i++) {
		if (i)
			sleep_ms(s->gap_ms);
		char c = (char)('a' + i);
		CHECK_EQ(send(s->fd, &c, 1, 0), 1);
	}
	return NULL;
}

static void recvmmsg_parks_only_its_caller(void)
{
	set_up(SOCK_DGRAM);
	pthread_t t;
	struct sender s = { sv[1], 1, 200, 0 };
	pthread_create(&t, NULL, send_later, &s);
	TICKER_OPEN();
	int r = recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 1);
	CHECK_EQ(msgs[0].msg_len, 1);
	CHECK_EQ(bufs[0][0], 'a');
	pthread_join(t, NULL);
	tear_down();
}

struct drainer {
	int fd;
	long total;
};

static void *drain_later(void *arg)
{
	struct drainer *d = arg;
	static char sink[65536];
	sleep_ms(200);
	for (;;) {
		ssize_t n = read(d->fd, sink, sizeof sink);
		if (n <= 0)
			break;
		d->total += n;
	}
	return NULL;
}

static void sendmmsg_parks_only_its_caller(void)
{
	set_up(SOCK_STREAM);
	static char big[2][BIG];
	struct iovec v[2] = { { big[0], BIG }, { big[1], BIG } };
	struct mmsghdr m[2];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 2; i++) {
		m[i].msg_hdr.msg_iov = &v[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	pthread_t t;
	struct drainer d = { sv[0], 0 };
	pthread_create(&t, NULL, drain_later, &d);
	TICKER_OPEN();
	int r = sendmmsg(sv[1], m, 2, 0);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 2); /* a blocking send completes each message */
	CHECK_EQ(m[0].msg_len, BIG);
	CHECK_EQ(m[1].msg_len, BIG);
	shutdown(sv[1], SHUT_WR);
	pthread_join(t, NULL);
	CHECK_EQ(d.total, 2L * BIG);
	tear_down();
}

static void waitforone_takes_what_is_there(void)
{
	set_up(SOCK_DGRAM);
	CHECK_EQ(send(sv[1], "xy", 2, 0), 2);
	CHECK_EQ(send(sv[1], "z", 1, 0), 1);
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL), 2);
	CHECK_EQ(msgs[0].msg_len, 2);
	CHECK_EQ(msgs[1].msg_len, 1);
	CHECK_EQ(bufs[1][0], 'z');
	tear_down();
}

static void without_waitforone_it_waits_for_all(void)
{
	set_up(SOCK_DGRAM);
	pthread_t t;
	struct sender s = { sv[1], 3, 20, 20 };
	pthread_create(&t, NULL, send_later, &s);
	CHECK_EQ(recvmmsg(sv[0], msgs, 3, 0, NULL), 3);
	CHECK_EQ(bufs[2][0], 'c');
	pthread_join(t, NULL);
	tear_down();
}

/* The timeout is looked at after each datagram, never while waiting for
 * one (recvmmsg(2), BUGS), and what is left of it is written back. */
static void the_timeout_counts_after_each_datagram(void)
{
	set_up(SOCK_DGRAM);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(send(sv[1], "q", 1, 0), 1);
	struct timespec ts = { 60, 0 };
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, 0, &ts), 4);
	CHECK(ts.tv_sec < 60 && ts.tv_sec >= 0);

	/* one there, the next 150 ms later: a 50 ms timeout does not cut the wait.
	 * The first is sent before the call: had a loaded machine run the
	 * sender late, the kernel would have waited for it and the timeout,
	 * looked at after it, would have ended the call there. */
	CHECK_EQ(send(sv[1], "a", 1, 0), 1);
	pthread_t t;
	struct sender s = { sv[1], 1, 150, 0 };
	pthread_create(&t, NULL, send_later, &s);
	ts = (struct timespec){ 0, 50 * 1000 * 1000 };
	CHECK_EQ(recvmmsg(sv[0], msgs, 2, 0, &ts), 2);
	CHECK_EQ(ts.tv_sec, 0);
	CHECK_EQ(ts.tv_nsec, 0);
	pthread_join(t, NULL);

	/* an expired timeout ends it after the first */
	CHECK_EQ(send(sv[1], "q", 1, 0), 1);
	ts = (struct timespec){ 0, 1 };
	CHECK_EQ(recvmmsg(sv[0], msgs, 2, 0, &ts), 1);
	tear_down();
}

static void errors_and_nonblocking_as_in_glibc(void)
{
	set_up(SOCK_DGRAM);
	errno = 0;
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, MSG_DONTWAIT, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(recvmmsg(sv[0], msgs, 0, 0, NULL), 0);
	struct timespec bad = { 0, 1000000000L };
	errno = 0;
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, 0, &bad), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(recvmmsg(-1, msgs, 4, 0, NULL), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(sendmmsg(-1, msgs, 1, 0), -1);
	CHECK_EQ(errno, EBADF);
	struct timeval short_wait = { 0, 50000 };
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof short_wait);
	errno = 0;
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL), -1);
	CHECK_EQ(errno, EAGAIN); /* SO_RCVTIMEO passed */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	errno = 0;
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, 0, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	/* sendmmsg on datagrams: each message whole, its length set */
	char a[] = "one", b[] = "three";
	struct iovec v[2] = { { a, 3 }, { b, 5 } };
	struct mmsghdr m[2];
	memset(m, 0, sizeof m);
	m[0].msg_hdr.msg_iov = &v[0];
	m[1].msg_hdr.msg_iov = &v[1];
	m[0].msg_hdr.msg_iovlen = m[1].msg_hdr.msg_iovlen = 1;
	CHECK_EQ(sendmmsg(sv[1], m, 2, 0), 2);
	CHECK_EQ(m[1].msg_len, 5);
	CHECK_EQ(recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL), 2);
	CHECK_EQ(msgs[1].msg_len, 5);
	tear_down();
}

/* A partial send ends sendmmsg with the count so far: a message that did
 * not fit under MSG_DONTWAIT is the last one counted, with what was sent. */
static void a_partial_send_ends_it(void)
{
	set_up(SOCK_STREAM);
	static char big[2][BIG];
	struct iovec v[2] = { { big[0], BIG }, { big[1], BIG } };
	struct mmsghdr m[2];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 2; i++) {
		m[i].msg_hdr.msg_iov = &v[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK_EQ(sendmmsg(sv[1], m, 2, MSG_DONTWAIT), 1);
	CHECK(m[0].msg_len > 0 && m[0].msg_len < BIG);
	errno = 0;
	CHECK_EQ(sendmmsg(sv[1], m, 2, MSG_DONTWAIT), -1); /* full: nothing sent */
	CHECK_EQ(errno, EAGAIN);
	tear_down();
}

/* A handled signal without SA_RESTART interrupts a wait for the first
 * datagram; with SA_RESTART the wait goes on, unless the socket has a
 * receive timeout (signal(7)). */
static void signals_interrupt_or_restart(void)
{
	set_up(SOCK_DGRAM);
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	struct poker p;
	poker_start(&p, pthread_self(), SIGUSR1, 30);
	errno = 0;
	int r = recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL);
	int e = errno;
	poker_stop(&p);
	CHECK_EQ(r, -1);
	CHECK_EQ(e, EINTR);
	CHECK(sig_runs >= 1);

	sig_install(SIGUSR1, sig_record, SA_RESTART);
	sig_reset();
	poker_start(&p, pthread_self(), SIGUSR1, 30);
	errno = 0;
	r = recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL);
	e = errno;
	poker_stop(&p);
	CHECK_EQ(r, -1);
	CHECK_EQ(e, EINTR);

	struct timeval none = { 0, 0 };
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
	sig_reset();
	pthread_t t;
	struct sender s = { sv[1], 1, 150, 0 };
	pthread_create(&t, NULL, send_later, &s);
	poker_start(&p, pthread_self(), SIGUSR1, 20);
	r = recvmmsg(sv[0], msgs, 4, MSG_WAITFORONE, NULL);
	poker_stop(&p);
	CHECK_EQ(r, 1);
	pthread_join(t, NULL);
	tear_down();
}

int main(void)
{
	alarm(120); /* a wedged run dies instead of hanging */
	ticker_start();
	RUN(recvmmsg_parks_only_its_caller);
	RUN(sendmmsg_parks_only_its_caller);
	RUN(waitforone_takes_what_is_there);
	RUN(without_waitforone_it_waits_for_all);
	RUN(the_timeout_counts_after_each_datagram);
	RUN(errors_and_nonblocking_as_in_glibc);
	RUN(a_partial_send_ends_it);
	RUN(signals_interrupt_or_restart);
	ticker_stop();
	TAP_DONE();
}
