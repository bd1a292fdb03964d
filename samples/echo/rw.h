/* Whole-buffer reads and writes over a stream socket, for both programs. */
#ifndef ECHO_RW_H
#define ECHO_RW_H
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

/* Writes all of buf; returns 0, or -1 with errno set. */
static inline int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; returns 0, 1 on early end of stream, -1 on error. */
static inline int read_all(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);
		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
