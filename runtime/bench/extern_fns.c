/* External functions for the annotation costs in runtime_bench.c: built
 * with plain gcc (no split stacks), as a precompiled library would be; the
 * same body three times, annotated differently in bench/annotate.json. */
int bench_extern_plain(int x) { return x + 1; }
int bench_extern_stack(int x) { return x + 1; }
int bench_extern_blocking(int x) { return x + 1; }
