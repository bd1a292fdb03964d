/* How many of a file's pages are in the page cache (mincore on a
 * mapping: looks without reading anything or starting readahead).  Tests
 * that read a file cold check first that it is. */
#ifndef CAP_PAGE_CACHE_H
#define CAP_PAGE_CACHE_H
#include <stdlib.h>
#include <sys/mman.h>

static inline size_t pages_cached(int fd, size_t off, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (m == MAP_FAILED)
		return (size_t)-1;
	size_t pages = (len + 4095) / 4096, n = 0;
	unsigned char *vec = malloc(pages);
	if (vec && mincore(m, len, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	munmap(m, len);
	return n;
}

#endif
