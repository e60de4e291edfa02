import { ValueError } from '../errors.js';

// COCO's compressed counts (maskApi.c rleToString / rleFrString): like LEB128 but 5 payload bits per
// character, 0x20 = "more follows", 0x10 in the last character = sign, each character offset by 48
// (so '0'..'o'). From the fourth run on (index > 2, not ≥ 2) a run is stored as its difference from
// the run two places earlier, which keeps the numbers small for masks that change slowly column to column.
const OFFSET = 48;
const MAX_CHAR = OFFSET + 63;

/** Compresses run counts to COCO's string (maskApi.c rleToString). Counts must be validated. */
export function encodeCountsString(counts: readonly number[]): string {
  const chars: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      // x & 0x1f and x >>= 5 on a signed long; 32-bit bit ops only where they are exact
      let c: number;
      if (x >= -2147483648 && x <= 2147483647) {
        c = x & 0x1f;
        x >>= 5;
      } else {
        const low = Math.floor(x / 32);
        c = x - low * 32;
        x = low;
      }
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      chars.push(c + OFFSET);
    }
  }
  let out = '';
  // in slices: spreading a long array into fromCharCode overflows the call stack
  for (let i = 0; i < chars.length; i += 8192) out += String.fromCharCode(...chars.slice(i, i + 8192));
  return out;
}

/**
 * Decodes COCO's compressed counts (maskApi.c rleFrString). Throws ValueError for characters outside
 * '0'..'o', a string that ends inside a number, or a negative run, naming `where` and `name`.
 */
export function decodeCountsString(s: string, name: string, where: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    const start = p;
    while (more) {
      if (p >= s.length) {
        throw new ValueError(`${where}: ${name} is corrupt: the number starting at character ${start} is unterminated`);
      }
      const code = s.charCodeAt(p);
      if (code < OFFSET || code > MAX_CHAR) {
        throw new ValueError(
          `${where}: ${name} is corrupt: character ${p} is ${JSON.stringify(s[p])}, expected '0'..'o'`,
        );
      }
      const c = code - OFFSET;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0) {
      throw new ValueError(`${where}: ${name} is corrupt: run ${counts.length} decodes to ${x}, expected ≥ 0`);
    }
    counts.push(x);
  }
  return counts;
}
