/* Writing docs/PROTOCOL.md frames: a growable byte buffer with
 * little-endian puts, and frame begin/end that patch in the size. */
#ifndef CAP_WIRE_H
#define CAP_WIRE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { CAP_FRAME_HELLO = 1, CAP_FRAME_SNAPSHOT = 2, CAP_FRAME_EXIT = 3, CAP_FRAME_WORKERS = 4, CAP_FRAME_STACKS = 5, CAP_FRAME_SYNC = 6, CAP_FRAME_SYMBOLS = 16 };
#define CAP_PROTOCOL_VERSION 4 /* 2: WORKERS; 3: STACKS; 4: SYNC */
#define CAP_RECORDING_MAGIC "CAPREC\0\1"

struct cap_wire {
	uint8_t *buf;
	size_t len, cap;
	int failed; /* out of memory: the frame is dropped */
};

static inline void cap_wire_put(struct cap_wire *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t c = w->cap ? w->cap : 4096;
		while (c < w->len + n)
			c *= 2;
		uint8_t *b = realloc(w->buf, c);
		if (!b) {
			w->failed = 1;
			return;
		}
		w->buf = b;
		w->cap = c;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* x86-64 is little-endian: the in-memory bytes are the wire bytes. */
static inline void cap_wire_u8(struct cap_wire *w, uint8_t v) { cap_wire_put(w, &v, 1); }
static inline void cap_wire_u16(struct cap_wire *w, uint16_t v) { cap_wire_put(w, &v, 2); }
static inline void cap_wire_u32(struct cap_wire *w, uint32_t v) { cap_wire_put(w, &v, 4); }
static inline void cap_wire_u64(struct cap_wire *w, uint64_t v) { cap_wire_put(w, &v, 8); }
static inline void cap_wire_i64(struct cap_wire *w, int64_t v) { cap_wire_put(w, &v, 8); }
static inline void cap_wire_str(struct cap_wire *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 65535)
		n = 65535;
	cap_wire_u16(w, (uint16_t)n);
	cap_wire_put(w, s, n);
}

/* Starts a frame; returns the offset to pass to cap_wire_end. */
static inline size_t cap_wire_begin(struct cap_wire *w, uint8_t type)
{
	size_t at = w->len;
	cap_wire_u32(w, 0);
	cap_wire_u8(w, type);
	cap_wire_u8(w, 0);
	cap_wire_u16(w, 0);
	return at;
}

static inline void cap_wire_end(struct cap_wire *w, size_t at)
{
	if (w->failed)
		return;
	uint32_t size = (uint32_t)(w->len - at - 4);
	memcpy(w->buf + at, &size, 4);
}

/* Patches a u32 count written earlier at offset `at`. */
static inline void cap_wire_patch_u32(struct cap_wire *w, size_t at, uint32_t v)
{
	if (!w->failed)
		memcpy(w->buf + at, &v, 4);
}

#endif
