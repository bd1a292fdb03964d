/* Finding the program's thread-locals in the static TLS block, once, before
 * the first thread starts (tls.h).
 *
 * The executable's TLS segment holds, in link order, the .tdata of every
 * object and then the .tbss of every object.  capcc links tls_mark.o right
 * after the program's own objects and libraries, so its two empty markers
 * sit where the program's .tdata and .tbss end; the runtime's and libgcc's
 * thread-locals, all zero-initialised, come after them and stay per kernel
 * thread.  So the program's are the first bytes of the block.  Compiled without -fsplit-stack: runs on the worker's stack. */
#include "tls.h"

#include <link.h>
#include <stdlib.h>

/* tls_mark.S: where the program's .tdata and .tbss end, as offsets from the
 * thread pointer.  Missing when the program was not linked by capcc: its
 * thread-locals then stay per kernel thread, as before. */
extern void cap__tls_user_bounds(intptr_t end[2]) __attribute__((weak));

struct cap_tls_segment {
	const ElfW(Phdr) *ph;
	ElfW(Addr) base;
	char *block; /* this kernel thread's copy of the executable's TLS block */
};

static int cap__tls_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct cap_tls_segment *s = arg;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS) {
			s->ph = &info->dlpi_phdr[i];
			s->base = info->dlpi_addr;
			s->block = info->dlpi_tls_data;
		}
	return 1; /* the executable is listed first */
}

void cap__tls_init_sys(void *arg)
{
	struct cap_worker *w = arg;
	if (!cap__tls_user_bounds)
		return;
	intptr_t end[2];
	cap__tls_user_bounds(end);
	struct cap_tls_segment s = { 0 };
	dl_iterate_phdr(cap__tls_find, &s);
	if (!s.ph || !s.block)
		cap__fatal_misuse("capriccio: the program has no TLS segment of its own, yet capcc marked one");
	char *tp = __builtin_thread_pointer();
	ptrdiff_t block_off = s.block - tp;
	size_t filesz = s.ph->p_filesz, memsz = s.ph->p_memsz;
	intptr_t tdata_end = end[0] - block_off, user_end = end[1] - block_off;
	/* One piece: the program's .tdata ends the segment's .tdata (nothing
	 * linked after the program has initialised thread-locals), its .tbss
	 * follows, and the runtime's and libgcc's thread-locals lie past it. */
	intptr_t own = (char *)&cap__w - s.block, libgcc = (char *)&__morestack_segments - s.block;
	if ((size_t)tdata_end != filesz || user_end < tdata_end || (size_t)user_end > memsz || own < user_end ||
	    libgcc < user_end)
		cap__fatal_misuse("capriccio: the program's thread-locals are not where capcc links them (tls_mark.o must "
				  "follow the program's objects and libraries, and only the program may have initialised "
				  "thread-locals)");
	cap__tls.block_off = block_off;
	cap__tls.image = (const char *)(s.base + s.ph->p_vaddr);
	cap__tls.image_len = filesz;
	cap__tls.bytes = (size_t)user_end;
	cap__tls.area = (cap__tls.bytes + 63) & ~(size_t)63;
	cap__tls_worker_init(w);
	__builtin_cpu_init();
	cap__tls.avx2 = __builtin_cpu_supports("avx2");
	if (cap__tls.bytes)
		cap__tls.flags |= CAP_TLS_COPY;
}
