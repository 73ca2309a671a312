// Order statistics for the benches, one definition for all: every p50 and p95 they print means
// the same thing.

/**
 * The p-th percentile (0–100) of `values`, interpolated between the two nearest ranks (R's type 7,
 * numpy's default): p50 of an even count is the mean of the middle two. NaN when there are none.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * (p / 100), lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

export const median = (values: readonly number[]) => percentile(values, 50);
