/** A distinct colour per detection (golden-angle hues). */
export function detectionColor(index: number): [number, number, number] {
  const hue = (index * 137.508) % 360;
  const f = (n: number): number => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (0.5 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
