/* Regular-file I/O through the disk backend: correct data from
 * read/write/pread/pwrite/readv/writev, fsync/fdatasync park only the
 * caller, and the same cases pass again with CAPRICCIO_DISK=threads (the
 * binary re-executes itself with that variable and checks the result). */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "page_cache.h"
#include "spawn_child.h"
#include "tap.h"

#define MIB (1u << 20)
#define FILE_BYTES (4 * MIB)

static char dir[64];
static char path[128];
static int child_mode; /* running as the CAPRICCIO_DISK=threads child */

static unsigned char pat(size_t i) { return (unsigned char)((i * 7u + i / 4093u) & 0xff); }
static unsigned char buf[FILE_BYTES];

/* A thread that counts every time it gets the CPU (it only yields, so it
 * runs whenever the others are parked). */
static volatile int spin_stop;
static volatile uint64_t spins;
/* The spinner and the caller share worker 0: a call that parks lets the
 * spinner run there, which is what is checked (another worker would run it
 * regardless). */
static void *spinner_fn(void *a)
{
	cap_bind(0);
	while (!spin_stop) {
		spins++;
		cap_yield();
	}
	return NULL;
}
static cap_thread_t *spinner_start(void)
{
	spin_stop = 0;
	spins = 0;
	cap_bind(0);
	return cap_spawn(spinner_fn, NULL, &(cap_spawn_opts_t){ .name = "spinner" });
}
static void spinner_end(cap_thread_t *t)
{
	spin_stop = 1;
	cap_join(t, NULL);
}

static int check_pattern(const unsigned char *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(off + i))
			return 0;
	return 1;
}

/* pread until n bytes or EOF, as a careful program would. */
static long pread_full(int fd, unsigned char *p, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		long r = pread(fd, p + got, n - got, off + (off_t)got);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

/* Write the file with write() in 1 MiB pieces, read it back every way. */
static void disk_write_read(void)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0);
	for (size_t i = 0; i < FILE_BYTES; i++)
		buf[i] = pat(i);
	for (size_t off = 0; off < FILE_BYTES; off += MIB)
		CHECK_EQ(write(fd, buf + off, MIB), MIB);
	CHECK_EQ(fsync(fd), 0);
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, FILE_BYTES);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), FILE_BYTES); /* write() moved the position */

	/* read() from the start: the whole file, then EOF */
	memset(buf, 0, sizeof buf);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(read(fd, buf, FILE_BYTES), FILE_BYTES);
	CHECK(check_pattern(buf, 0, FILE_BYTES));
	CHECK_EQ(read(fd, buf, 100), 0);

	/* pread at odd offsets leaves the position alone */
	CHECK_EQ(lseek(fd, 123, SEEK_SET), 123);
	unsigned char small[10000];
	CHECK_EQ(pread(fd, small, sizeof small, 1234567), sizeof small);
	CHECK(check_pattern(small, 1234567, sizeof small));
	CHECK_EQ(pread(fd, small, 100, FILE_BYTES - 40), 40); /* short at EOF */
	CHECK(check_pattern(small, FILE_BYTES - 40, 40));
	CHECK_EQ(pread(fd, small, 100, FILE_BYTES + 5), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 123);
	CHECK_EQ(read(fd, small, 7), 7);
	CHECK(check_pattern(small, 123, 7));

	/* readv at the position */
	unsigned char a[3], b[5000], c[1];
	struct iovec v[3] = { { a, sizeof a }, { b, sizeof b }, { c, sizeof c } };
	CHECK_EQ(lseek(fd, 3 * MIB - 1, SEEK_SET), 3 * MIB - 1);
	CHECK_EQ(readv(fd, v, 3), 5004);
	CHECK(check_pattern(a, 3 * MIB - 1, 3) && check_pattern(b, 3 * MIB + 2, 5000) &&
	      check_pattern(c, 3 * MIB + 5002, 1));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 3 * MIB + 5003);

	/* pwrite / pwritev, then read them back */
	CHECK_EQ(pwrite(fd, "HELLO", 5, 2 * MIB + 3), 5);
	struct iovec wv[2] = { { "ab", 2 }, { "cdef", 4 } };
	CHECK_EQ(pwritev(fd, wv, 2, 100), 6);
	CHECK_EQ(fdatasync(fd), 0);
	CHECK_EQ(pread(fd, small, 11, 2 * MIB), 11);
	CHECK(check_pattern(small, 2 * MIB, 3) && memcmp(small + 3, "HELLO", 5) == 0 &&
	      check_pattern(small + 8, 2 * MIB + 8, 3));
	CHECK_EQ(pread(fd, small, 6, 100), 6);
	CHECK(memcmp(small, "abcdef", 6) == 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 3 * MIB + 5003);
	/* restore the pattern for the later cases */
	for (size_t i = 0; i < 6; i++)
		small[i] = pat(100 + i);
	CHECK_EQ(pwrite(fd, small, 6, 100), 6);
	for (size_t i = 0; i < 5; i++)
		small[i] = pat(2 * MIB + 3 + i);
	CHECK_EQ(pwrite(fd, small, 5, 2 * MIB + 3), 5);

	/* writev at the position, O_APPEND */
	CHECK_EQ(close(fd), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	struct iovec av[2] = { { "tail", 4 }, { "END", 3 } };
	CHECK_EQ(writev(fd, av, 2), 7);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, FILE_BYTES + 7);
	CHECK_EQ(ftruncate(fd, FILE_BYTES), 0);
	CHECK_EQ(fsync(fd), 0);
	close(fd);

	fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	CHECK_EQ(pread(fd, buf, FILE_BYTES, 0), FILE_BYTES);
	CHECK(check_pattern(buf, 0, FILE_BYTES));
	close(fd);
}

/* With its pages dropped from the page cache (fsync, then
 * POSIX_FADV_DONTNEED), the file is read through the backend: the reader
 * parks, the spinner runs, and the data is right.  The kernel may finish
 * a RWF_NOWAIT read of cold pages itself, though, when the device answers
 * during the call (seen here: all 4 MiB in 2-8 ms, in about one run in
 * ten, strace showing the one preadv2): that read never parks.  So it is
 * tried up to 5 times; a runtime that never parks fails every one. */
static void disk_cold_read_parks(void)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	cap_thread_t *sp = spinner_start();
	int tries = 0;
	bool parked = false;
	while (!parked && tries++ < 5) {
		CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
		CHECK_EQ(pages_cached(fd, 0, FILE_BYTES), 0); /* precondition: cold */
		cap_yield();
		uint64_t before = spins;
		memset(buf, 0, sizeof buf);
		CHECK_EQ(pread_full(fd, buf, FILE_BYTES, 0), FILE_BYTES);
		CHECK(check_pattern(buf, 0, FILE_BYTES));
		parked = spins > before; /* the read parked; the spinner ran */
	}
	CHECK(parked);
	if (parked && tries > 1)
		printf("  the read parked at try %d\n", tries);
	spinner_end(sp);
	close(fd);
}

/* A single read() of a regular file returns everything up to EOF, also when
 * only a prefix is in the page cache (readahead in flight): a kernel
 * thread's read would. */
static void disk_partly_cached_read_is_whole(void)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	unsigned char one;
	for (int round = 0; round < 2; round++) {
		CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
		CHECK_EQ(pread(fd, &one, 1, 0), 1); /* caches a prefix, starts readahead */
		cap_sleep_ns(2000000);
		size_t c = pages_cached(fd, 0, FILE_BYTES);
		CHECK(c > 0 && c < FILE_BYTES / 4096); /* precondition: partly cached */
		memset(buf, 0, sizeof buf);
		if (round == 0) {
			CHECK_EQ(pread(fd, buf, FILE_BYTES, 0), FILE_BYTES);
		} else {
			CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
			CHECK_EQ(read(fd, buf, FILE_BYTES), FILE_BYTES);
		}
		CHECK(check_pattern(buf, 0, FILE_BYTES));
	}
	close(fd);
}

/* 20 fsyncs (and 20 fdatasyncs) of fresh writes: each one parks the
 * caller and lets the spinner run. */
static void disk_fsync_parks(void)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	cap_thread_t *sp = spinner_start();
	unsigned char page[4096];
	int fsync_ran_others = 0, fdatasync_ran_others = 0;
	for (int i = 0; i < 20; i++) {
		for (size_t k = 0; k < sizeof page; k++)
			page[k] = pat((size_t)i * 4096 + k);
		CHECK_EQ(pwrite(fd, page, sizeof page, (off_t)i * 4096), sizeof page);
		uint64_t b = spins;
		CHECK_EQ(fsync(fd), 0);
		fsync_ran_others += spins > b;
		CHECK_EQ(pwrite(fd, page, sizeof page, (off_t)i * 4096), sizeof page);
		b = spins;
		CHECK_EQ(fdatasync(fd), 0);
		fdatasync_ran_others += spins > b;
	}
	/* With one worker the spinner runs in every one of them.  With more,
	 * another worker may reap a fast completion and hand the caller back
	 * to worker 0 before worker 0 has switched to the spinner (say the
	 * kernel preempted it in between): most, not all. */
	int at_least = cap_workers() == 1 ? 20 : 10;
	CHECK(fsync_ran_others >= at_least);
	CHECK(fdatasync_ran_others >= at_least);
	spinner_end(sp);
	/* errors come back too */
	errno = 0;
	CHECK_EQ(fsync(-1), -1);
	CHECK_EQ(errno, EBADF);
	close(fd);
}

/* Several threads reading different parts of the cold file at once all get
 * their own data. */
struct part {
	int fd;
	size_t off, len;
	int ok;
};
static void *part_reader(void *a)
{
	struct part *p = a;
	p->ok = pread_full(p->fd, buf + p->off, p->len, (off_t)p->off) == (long)p->len &&
		check_pattern(buf + p->off, p->off, p->len);
	return NULL;
}
static void disk_concurrent_reads(void)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	memset(buf, 0, sizeof buf);
	struct part parts[8];
	cap_thread_t *t[8];
	for (int i = 0; i < 8; i++) {
		parts[i] = (struct part){ .fd = fd, .off = (size_t)i * (FILE_BYTES / 8), .len = FILE_BYTES / 8 };
		t[i] = cap_spawn(part_reader, &parts[i], NULL);
	}
	for (int i = 0; i < 8; i++) {
		cap_join(t[i], NULL);
		CHECK(parts[i].ok);
	}
	close(fd);
}

/* The backend in use: io_uring by default, helper threads when asked. */
static void disk_backend_name(void)
{
	int fd = open(path, O_RDWR);
	CHECK_EQ(fsync(fd), 0);
	close(fd);
	cap_info_t info;
	cap_get_info(&info);
	const char *want = child_mode ? "threads" : "io_uring";
	CHECK(info.disk_backend && strcmp(info.disk_backend, want) == 0);
	if (info.disk_backend && strcmp(info.disk_backend, want))
		fprintf(stderr, "  disk backend %s, expected %s\n", info.disk_backend, want);
}

static void run_disk_cases(void)
{
	RUN(disk_write_read);
	RUN(disk_cold_read_parks);
	RUN(disk_partly_cached_read_is_whole);
	RUN(disk_fsync_parks);
	RUN(disk_concurrent_reads);
	RUN(disk_backend_name);
}

/* Re-run the disk cases in a child with CAPRICCIO_DISK=threads; its TAP
 * output comes back through a pipe (read while the child runs) and is shown
 * as comments. */
static int child_cases = 6;
static void disk_threads_backend_child(void)
{
	int p[2];
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	char *envp[256];
	child_env_with(envp, 256, "CAPRICCIO_DISK=threads");
	char *argv[] = { "test_disk", "--child", dir, NULL };
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	CHECK(pid > 0);
	close(p[1]);
	static char out[65536];
	size_t len = 0;
	long r;
	while (len < sizeof out - 1 && (r = read(p[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = 0;
	close(p[0]);
	int status = -1;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	char want[64];
	snprintf(want, sizeof want, "\n%d passed, 0 failed\n", child_cases);
	int summary_ok = strstr(out, want) != NULL;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		printf("#   threads: %s\n", line);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(summary_ok); /* all the disk cases ran and passed there */
}

int main(int argc, char **argv)
{
	timer_t wd;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGTERM };
	if (timer_create(CLOCK_MONOTONIC, &sev, &wd) == 0)
		timer_settime(wd, 0, &(struct itimerspec){ .it_value = { 120, 0 } }, NULL);

	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		child_mode = 1;
		snprintf(dir, sizeof dir, "%s", argv[2]);
		snprintf(path, sizeof path, "%s/threads.dat", dir);
		run_disk_cases();
		unlink(path);
		TAP_DONE();
	}
	snprintf(dir, sizeof dir, "/tmp/capdisk.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof path, "%s/uring.dat", dir);
	run_disk_cases();
	RUN(disk_threads_backend_child);
	unlink(path);
	rmdir(dir);
	TAP_DONE();
}
