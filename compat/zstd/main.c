/* zstd-mt: compresses stdin to stdout with libzstd's multithreaded streaming
 * compressor.  The work is libzstd's: it cuts the input into jobs and runs
 * them on its own thread pool, whose bounded queue makes this thread wait
 * for a free worker; the output is the same bytes for any scheduling.
 *
 *   zstd-mt WORKERS LEVEL < input > output.zst */
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

static void check(size_t r, const char *what)
{
	if (ZSTD_isError(r)) {
		fprintf(stderr, "zstd-mt: %s: %s\n", what, ZSTD_getErrorName(r));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: zstd-mt WORKERS LEVEL < input > output.zst\n");
		return 2;
	}
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, atoi(argv[1])), "nbWorkers");
	check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, atoi(argv[2])), "compressionLevel");
	check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, 512 << 10), "jobSize"); /* the smallest: many jobs */
	check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1), "checksumFlag");

	size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
	char *in_buf = malloc(in_cap), *out_buf = malloc(out_cap);
	unsigned long long consumed = 0, produced = 0;
	for (int last = 0; !last;) {
		size_t n = fread(in_buf, 1, in_cap, stdin);
		last = n < in_cap;
		ZSTD_inBuffer in = { in_buf, n, 0 };
		ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
		size_t left;
		do {
			ZSTD_outBuffer out = { out_buf, out_cap, 0 };
			left = ZSTD_compressStream2(cctx, &out, &in, mode);
			check(left, "compressStream2");
			if (fwrite(out_buf, 1, out.pos, stdout) != out.pos) {
				perror("zstd-mt: write");
				return 1;
			}
			produced += out.pos;
		} while (last ? left != 0 : in.pos < in.size);
		consumed += n;
	}
	if (ferror(stdin) || fflush(stdout) != 0) {
		perror("zstd-mt");
		return 1;
	}
	fprintf(stderr, "zstd-mt: %llu bytes in, %llu bytes out\n", consumed, produced);
	ZSTD_freeCCtx(cctx);
	return 0;
}
