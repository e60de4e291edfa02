import type { Generator } from '../generator.js';

/**
 * One draw of a standard normal restricted to [alpha, beta] (alpha < beta), by exact rejection
 * sampling whose acceptance rate stays bounded away from 0 wherever the interval lies:
 * - an interval holding 0 and wider than 2: normal proposals (acceptance ≥ 0.47);
 * - a narrow interval (Δ(z²)/2 ≤ 2): uniform proposals, accepted with exp((m² − z²)/2);
 * - otherwise a one-sided tail: Robert (1995) exponential proposals.
 */
export function truncatedStandardNormal(alpha: number, beta: number, gen: Generator): number {
  // Mirror a left tail onto the right one.
  if (beta < 0) return -truncatedStandardNormal(-beta, -alpha, gen);
  if (alpha <= 0) {
    if (beta - alpha > 2) {
      for (;;) {
        const z = gen.normal();
        if (z >= alpha && z <= beta) return z;
      }
    }
    return uniformProposal(alpha, beta, 0, gen);
  }
  // Here 0 < alpha < beta.
  if ((beta * beta - alpha * alpha) / 2 <= 2) return uniformProposal(alpha, beta, alpha, gen);
  const lambda = (alpha + Math.sqrt(alpha * alpha + 4)) / 2;
  for (;;) {
    const z = alpha - Math.log(1 - gen.random()) / lambda;
    if (z > beta) continue;
    if (gen.random() <= Math.exp(-((z - lambda) ** 2) / 2)) return z;
  }
}

// Uniform proposals on [alpha, beta]; `m` is the point of the interval nearest 0 (density peak).
function uniformProposal(alpha: number, beta: number, m: number, gen: Generator): number {
  for (;;) {
    const z = alpha + (beta - alpha) * gen.random();
    if (gen.random() <= Math.exp((m * m - z * z) / 2)) return z;
  }
}
