/**
 * Indices that order `values` from highest to lowest, keeping equal values in index order: the
 * order of pycocotools' `np.argsort(-values, kind='mergesort')` (a stable sort). Values must not be NaN.
 */
export function stableArgsortDesc(values: ArrayLike<number>): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  // Array.prototype.sort is stable (ES2019), so ties keep ascending index order as mergesort does.
  return idx.sort((i, j) => values[j] - values[i]);
}
