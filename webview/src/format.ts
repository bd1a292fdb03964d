// Formatting of times, bytes and counts for display: three significant digits and a unit.
// Pure (no DOM): unit-tested in Node.

/** `v` to 3 significant digits in the smallest unit where it stays below `base`; whole numbers in the first unit. */
function scaled(v: number, base: number, units: readonly string[]): string {
  if (!Number.isFinite(v)) return '—';
  const sign = v < 0 ? '-' : '';
  let x = Math.abs(v);
  if (Math.round(x) < base) return `${sign}${Math.round(x)} ${units[0]}`;
  let u = 0;
  while (u < units.length - 1 && x >= base) {
    x /= base;
    u++;
  }
  // Rounding to 3 digits may reach 4 digits (999.6 µs → 1000 µs, 1023.9 KiB): carry into the next unit.
  if (Number(x.toPrecision(3)) >= 1000 && u < units.length - 1) {
    x /= base;
    u++;
  }
  const digits = x >= 1000 ? String(Math.round(x)) : x.toPrecision(3);
  return `${sign}${digits} ${units[u]}`;
}

/** Nanoseconds: "850 ns", "1.23 µs", "45.6 ms", "2.00 s". */
export const formatNs = (ns: number): string => scaled(ns, 1000, ['ns', 'µs', 'ms', 's']);

/** Bytes: "512 B", "3.75 KiB", "1.00 MiB", "2.50 GiB". */
export const formatBytes = (b: number): string => scaled(b, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);

/** Counts: "999", "1,234", "12.3 k", "4.57 M" (always the same separators). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const x = Math.abs(n);
  if (x < 10_000) return (n < 0 ? '-' : '') + String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return scaled(n, 1000, ['', 'k', 'M', 'G', 'T']);
}

/** A short source path: the last two components. */
export const shortFile = (file: string): string => file.split('/').slice(-2).join('/');

/** "file.c:12", or "" when the place is unknown. */
export const fileLine = (file: string, line: number): string => (file === '' || file === '??' ? '' : `${shortFile(file)}:${line}`);

/** A call's place: "f file.c:12", or the function alone where its place is not known. */
export const placeText = (p: { function: string; file: string; line: number }): string => `${p.function} ${fileLine(p.file, p.line)}`.trim();

/** A blocking point's name: "label file.c:12 ← what tells it apart". */
export const pointText = (n: { label: string; file: string; line: number; via?: string }): string => `${n.label} ${fileLine(n.file, n.line)}${n.via ? ` ${n.via}` : ''}`;

/** Whether a place can be opened: a known file and a line. */
export const hasSource = (p: { file: string; line: number }): boolean => p.file !== '' && p.file !== '??' && p.line > 0;
