/* stdio on descriptors that can make a caller wait: pipes, sockets,
 * terminals (stdio_read_sys.c, stdio_write_sys.c, stdio_sys.c).
 *
 * glibc's stdio reads and writes its descriptor with its own internal
 * read(2) and write(2), never through the runtime's shims, so on a pipe, a
 * socket or a terminal one call would block the worker and with it every
 * user thread.  The runtime defines the stdio entry points itself (calls
 * from precompiled libraries resolve to them too) and, on such a stream:
 *
 *   reads   serve from the stream's buffer; when it is empty, park until
 *           the descriptor is readable, then let libc refill the buffer
 *           with its one read (__underflow), which then cannot block;
 *   writes  fill the buffer as glibc does and, where glibc would write,
 *           write the same bytes without blocking the worker: through the
 *           runtime's write() for pipes and sockets, through a second,
 *           non-blocking description of a terminal (a terminal's write has
 *           no non-blocking form of its own), on a helper kernel thread for
 *           other devices (stdio_write_sys.c);
 *   scanf   runs on a private stream whose reads come from the real one
 *           (a conversion cannot be resumed half-way, so it must never see
 *           a read fail with EAGAIN).
 *
 * The FILE's buffer pointers are glibc's public ones (bits/types/
 * struct_FILE.h); the ports of glibc's write path keep them exactly as
 * glibc would.  Everything else — regular files, /dev/null, wide streams,
 * the program's own O_NONBLOCK, memory and cookie streams, callers that are
 * not user threads — goes to libc unchanged. */
#ifndef CAP_STDIO_STREAM_H
#define CAP_STDIO_STREAM_H

#include "io.h"
#include "stdio_lock.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <wchar.h>

/* glibc's FILE flags (libio.h).  Old binaries inline them, so the values
 * are part of glibc's ABI. */
#define CAP_IO_UNBUFFERED 0x0002
#define CAP_IO_NO_READS 0x0004
#define CAP_IO_NO_WRITES 0x0008
#define CAP_IO_EOF_SEEN 0x0010
#define CAP_IO_ERR_SEEN 0x0020
#define CAP_IO_LINKED 0x0080
#define CAP_IO_IN_BACKUP 0x0100
#define CAP_IO_LINE_BUF 0x0200
#define CAP_IO_CURRENTLY_PUTTING 0x0800
#define CAP_IO_IS_APPENDING 0x1000
#define CAP_IO_POS_BAD ((off64_t)-1)

/* One operation on a stream. */
struct cap_stream {
	FILE *f;
	int kind; /* enum cap_fd_kind once cap__stream_waits looked, 0 = it goes to libc, -1 = not yet */
	struct cap_file_hold hold;
};

/* A user thread that may park: not the scheduler, not a signal handler, not
 * the runtime's own slow path on the system stack (its diagnostics print
 * with fprintf), not a kernel thread the runtime does not own. */
static inline bool cap__stdio_can_park(void)
{
	struct cap_worker *w = cap__w;
	return w && w->current != &w->sched && !w->sysstack.active && !w->sig.in_handler;
}

/* Starts an operation: false when the caller is not a user thread that may
 * park (then libc does everything, as without the runtime).  Waits while
 * another user thread holds the stream. */
static inline bool cap__stream_enter(struct cap_stream *s, FILE *f)
{
	if (!cap__stdio_can_park())
		return false;
	s->f = f;
	s->kind = -1;
	cap__file_enter(&s->hold, f);
	return true;
}
static inline void cap__stream_leave(struct cap_stream *s) { cap__file_leave(&s->hold); }
/* Does data on this stream move through a descriptor that may wait? */
bool cap__stream_waits(struct cap_stream *s);

/* stdio_read_sys.c: glibc's __underflow (consume = false) and __uflow. */
int cap__stream_underflow(struct cap_stream *s, bool consume);
size_t cap__stream_getline(struct cap_stream *s, char *buf, size_t n);
ssize_t cap__stream_getdelim(struct cap_stream *s, char **line, size_t *n, int delim);
size_t cap__stream_read(struct cap_stream *s, char *buf, size_t n);
int cap__stream_vscanf(struct cap_stream *s, const char *fmt, va_list ap, bool isoc99);

/* stdio_write_sys.c.  cap__stream_write returns what glibc's _IO_sputn
 * would: n, fewer bytes, or (size_t)EOF when everything was buffered but a
 * flush failed. */
size_t cap__stream_write(struct cap_stream *s, const char *data, size_t n);
int cap__stream_overflow(struct cap_stream *s, int c);
int cap__stream_flush(struct cap_stream *s); /* write out what is buffered: 0 or EOF */
int cap__stream_putc(struct cap_stream *s, int c);
int cap__stream_vprintf(struct cap_stream *s, int chk_flag, const char *fmt, va_list ap);
int cap__fd_vprintf(int fd, int kind, int chk_flag, const char *fmt, va_list ap); /* dprintf */

/* libc's own definition of a function the runtime also defines. */
#define CAP_REAL_FUNCS(X)                                                                                    \
	X(__underflow) X(__uflow) X(__overflow) X(fgetc) X(fgetc_unlocked) X(fgets) X(fgets_unlocked)        \
	X(__fgets_chk) X(__fgets_unlocked_chk) X(fread) X(fread_unlocked) X(getdelim) X(vfscanf)             \
	X(__isoc99_vfscanf) X(ungetc) X(fputc) X(fputc_unlocked) X(fputs) X(fputs_unlocked) X(puts)          \
	X(fwrite) X(fwrite_unlocked) X(vfprintf) X(__vfprintf_chk) X(vdprintf) X(__vdprintf_chk) X(fflush)   \
	X(fflush_unlocked) X(fclose) X(fopen) X(fopen64) X(freopen) X(freopen64) X(setvbuf) X(feof)          \
	X(ferror) X(clearerr)
#define CAP_REAL_ENUM(name) CAP_REAL_##name,
enum cap_real { CAP_REAL_FUNCS(CAP_REAL_ENUM) CAP_REAL_COUNT };
extern void *cap__reals[CAP_REAL_COUNT];
void *cap__stdio_resolve(enum cap_real id);
static inline void *cap__stdio_real(enum cap_real id)
{
	void *p = __atomic_load_n(&cap__reals[id], __ATOMIC_ACQUIRE);
	return CAP_LIKELY(p != NULL) ? p : cap__stdio_resolve(id);
}
#define REAL(name) ((__typeof__(&name))cap__stdio_real(CAP_REAL_##name))

/* Declared by glibc's headers only under _FORTIFY_SOURCE or redirects. */
char *__fgets_chk(char *buf, size_t size, int n, FILE *f);
char *__fgets_unlocked_chk(char *buf, size_t size, int n, FILE *f);
size_t __fread_chk(void *p, size_t plen, size_t size, size_t n, FILE *f);
size_t __fread_unlocked_chk(void *p, size_t plen, size_t size, size_t n, FILE *f);
int __printf_chk(int flag, const char *fmt, ...);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap);
int __isoc99_fscanf(FILE *f, const char *fmt, ...);
int __isoc99_scanf(const char *fmt, ...);
int __isoc99_vfscanf(FILE *f, const char *fmt, va_list ap);
int __isoc99_vscanf(const char *fmt, va_list ap);
int __underflow(FILE *f);
_Noreturn void __chk_fail(void);
void _IO_free_backup_area(FILE *f);
unsigned _IO_adjust_column(unsigned start, const char *line, int count);
void _IO_doallocbuf(FILE *f);
void _IO_flockfile(FILE *f);
void _IO_funlockfile(FILE *f);
int _IO_ftrylockfile(FILE *f);
/* Every open stream, through libc's functions: naming libc's variable
 * _IO_list_all would give the program a copy of it (a copy relocation)
 * that libc itself never updates. */
void _IO_list_lock(void);
void _IO_list_unlock(void);
void *_IO_iter_begin(void);
void *_IO_iter_end(void);
void *_IO_iter_next(void *i);
FILE *_IO_iter_file(void *i);

#endif
