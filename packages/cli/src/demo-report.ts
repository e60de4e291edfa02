import type { DetectorEvaluation } from './evaluate-detector.js';

/** What `residual demo` measured, as written to report.json and report.md. */
export interface DemoSummary {
  backend: string;
  iterations: number;
  plannedIterations: number;
  batchSize: number;
  size: number;
  trainImages: number;
  valImages: number;
  trainSeconds: number;
  evalSeconds: number;
  totalSeconds: number;
  firstLoss: number;
  /** Mean of the last 20 steps' losses. */
  lastLoss: number;
  bbox: DetectorEvaluation['bbox'];
  segm?: DetectorEvaluation['segm'];
  model: object;
  /** The `residual detect` command that runs this model on new images. */
  detectCommand: string;
  /** Annotated PNGs, relative to the report. */
  drawn: string[];
}

const f3 = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(3));

/** The demo's report as markdown: results table, loss curve, pictures, pycocotools summaries, model. */
export function demoReport(s: DemoSummary, e: DetectorEvaluation): string {
  const stopped = s.iterations < s.plannedIterations ? ` (time budget reached before the planned ${s.plannedIterations})` : '';
  return [
    '# residual demo: Mask R-CNN on the shapes set',
    '',
    `A ResNet-18 FPN Mask R-CNN trained from scratch on ${s.trainImages} synthetic ${s.size}×${s.size} images, ` +
      `${s.iterations} steps of batch ${s.batchSize}${stopped} in ${(s.trainSeconds / 60).toFixed(1)} min on the ${s.backend} backend, ` +
      `evaluated on ${s.valImages} unseen images with COCO metrics (equal to pycocotools).`,
    '',
    '| | AP | AP50 | AP75 |',
    '|---|---|---|---|',
    `| bbox | ${f3(s.bbox.AP)} | ${f3(s.bbox.AP50)} | ${f3(stat(s.bbox.summary, 2))} |`,
    ...(s.segm ? [`| segm | ${f3(s.segm.AP)} | ${f3(s.segm.AP50)} | ${f3(stat(s.segm.summary, 2))} |`] : []),
    '',
    `Loss ${s.firstLoss.toFixed(3)} → ${s.lastLoss.toFixed(3)} (mean of the last 20 steps). Training ${s.trainSeconds.toFixed(0)} s, ` +
      `evaluation ${s.evalSeconds.toFixed(0)} s, whole run ${(s.totalSeconds / 60).toFixed(1)} min.`,
    '',
    '![training loss](loss.png)',
    '',
    '## Detections on validation images (score ≥ 0.3)',
    '',
    ...s.drawn.map((p) => `![${p}](${p})`),
    '',
    '## Detect with this model',
    '',
    'The architecture and the category names are stored in model.safetensors; on your own images',
    '(files or folders) replace the validation folder:',
    '',
    '```sh',
    s.detectCommand,
    '```',
    '',
    '## COCO summaries',
    '',
    'bbox:',
    '```',
    e.bbox.summary.trimEnd(),
    '```',
    ...(e.segm ? ['segm:', '```', e.segm.summary.trimEnd(), '```'] : []),
    '',
    '## Model',
    '',
    '```json',
    JSON.stringify(s.model, null, 2),
    '```',
    '',
  ].join('\n');
}

/** The `k`-th number of a pycocotools summary (its line k's value). */
function stat(summary: string, k: number): number | undefined {
  const line = summary.trim().split('\n')[k];
  const value = line === undefined ? NaN : Number(line.split('=').at(-1));
  return Number.isFinite(value) ? value : undefined;
}
