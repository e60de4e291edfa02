/** Short printable form of any value for error messages ("got …"): JSON, cut to 60 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const { isArray } = Array; // bound once: global lookups are slow inside jest's vm sandbox

/** True for an array of exactly four finite numbers (a COCO box `[x, y, w, h]`). */
export function isBox(value: unknown): value is number[] {
  if (!isArray(value) || value.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const v = value[i];
    if (typeof v !== 'number' || v - v !== 0) return false; // v − v is NaN for NaN and ±Infinity
  }
  return true;
}
