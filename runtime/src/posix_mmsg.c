/* recvmmsg and sendmmsg park only the calling thread.  Each batch is tried
 * without blocking (MSG_DONTWAIT); the thread parks when the socket says
 * EAGAIN, and the rest of the batch follows, keeping what Linux does:
 * - recvmmsg waits for vlen datagrams (MSG_WAITFORONE: for the first one),
 *   looks at its timeout only after a datagram arrived (recvmmsg(2), BUGS),
 *   writes back what is left of it, and reports the datagrams it got even
 *   when an error or a signal ends it;
 * - sendmmsg sends each message as a blocking sendmsg would (whole, on a
 *   stream socket) and stops at a message sent in part;
 * - the program's MSG_DONTWAIT and O_NONBLOCK, SO_RCVTIMEO / SO_SNDTIMEO,
 *   EINTR and SA_RESTART as for recvmsg and sendmsg (cap__park). */
#include "io.h"

#include <errno.h>
#include <sys/socket.h>

#define CAP_MMSG_MAX 1024 /* UIO_MAXIOV: the kernel takes no more at once */

int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *ts)
{
	if (ts && !cap__ts_valid(ts))
		return (int)cap__ret(-EINVAL);
	if (!cap__can_park() || vlen == 0)
		return (int)cap__ret(cap_sys5(SYS_recvmmsg, fd, vec, vlen, flags, ts));
	if (vlen > CAP_MMSG_MAX)
		vlen = CAP_MMSG_MAX;
	uint64_t deadline = ts ? cap__mono_ns() + cap__ts_ns(ts) : 0;
	struct cap_park pk = cap__park_begin();
	unsigned got = 0;
	long r = 0;
	while (got < vlen) {
		r = cap_sys5(SYS_recvmmsg, fd, vec + got, vlen - got, (flags & ~MSG_WAITFORONE) | MSG_DONTWAIT, NULL);
		if (r > 0) {
			got += (unsigned)r;
			if ((flags & MSG_WAITFORONE) || (vec[got - 1].msg_hdr.msg_flags & MSG_OOB) ||
			    (ts && cap__mono_ns() >= deadline))
				break;
			continue;
		}
		if (r != -EAGAIN)
			break;
		int e = cap__park(fd, CAP_DIR_READ, &pk, flags & MSG_DONTWAIT);
		if (e) {
			r = e;
			break;
		}
	}
	if (!got)
		return (int)cap__ret(r);
	if (ts) {
		uint64_t now = cap__mono_ns(), left = now < deadline ? deadline - now : 0;
		ts->tv_sec = (time_t)(left / 1000000000u);
		ts->tv_nsec = (long)(left % 1000000000u);
	}
	return (int)got;
}

/* The rest of a message a stream socket took in part, sent as sendmsg
 * sends (parking until all is sent or an error).  Returns the bytes sent. */
static size_t cap__send_rest(int fd, const struct msghdr *hdr, size_t done, size_t want, int flags)
{
	struct iovec local[CAP_IOV_LOCAL];
	size_t more = 0;
	while (done + more < want) {
		struct msghdr m = *hdr;
		m.msg_iovlen = (size_t)cap__iov_window(hdr->msg_iov, (int)hdr->msg_iovlen, done + more, local);
		m.msg_iov = local;
		m.msg_control = NULL; /* it went with the first bytes */
		m.msg_controllen = 0;
		ssize_t r = sendmsg(fd, &m, flags);
		if (r <= 0)
			break;
		more += (size_t)r;
	}
	return more;
}

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	if (!cap__can_park() || vlen == 0)
		return (int)cap__ret(cap_sys4(SYS_sendmmsg, fd, vec, vlen, flags));
	if (vlen > CAP_MMSG_MAX)
		vlen = CAP_MMSG_MAX;
	struct cap_park pk = cap__park_begin();
	unsigned sent = 0;
	long r = 0;
	while (sent < vlen) {
		r = cap_sys4(SYS_sendmmsg, fd, vec + sent, vlen - sent, flags | MSG_DONTWAIT);
		if (r > 0) {
			sent += (unsigned)r;
			struct mmsghdr *last = &vec[sent - 1];
			size_t want = cap__iov_len(last->msg_hdr.msg_iov, (int)last->msg_hdr.msg_iovlen);
			if (last->msg_len < want) {
				if ((flags & MSG_DONTWAIT) || cap__fd_user_nonblock(fd))
					break;
				last->msg_len += (unsigned)cap__send_rest(fd, &last->msg_hdr, last->msg_len, want, flags);
				if (last->msg_len < want)
					break;
			}
			continue;
		}
		if (r != -EAGAIN)
			break;
		int e = cap__park(fd, CAP_DIR_WRITE, &pk, flags & MSG_DONTWAIT);
		if (e) {
			r = e;
			break;
		}
	}
	return sent ? (int)sent : (int)cap__ret(r);
}
