import { CocoEvaluator, type CocoDatasetJson, type CocoResult, type IouType } from '@residual/eval';
import { ValueError } from '@residual/core';
import type { Command, CommandContext } from './command.js';
import { choiceFlag, positionals, stringFlag } from './flag-values.js';
import { readJsonInput } from './read-input.js';

async function runEval(ctx: CommandContext): Promise<void> {
  positionals(ctx, 'eval', 'none', 0);
  const annFile = stringFlag(ctx, 'eval', 'ann', true);
  const resultsFile = stringFlag(ctx, 'eval', 'results', true);
  const iouType = choiceFlag<IouType>(ctx, 'eval', 'iou-type', ['bbox', 'segm'], 'bbox');
  const groundTruth = (await readJsonInput(annFile, '--ann')) as CocoDatasetJson;
  const results = await readJsonInput(resultsFile, '--results');
  if (!Array.isArray(results)) throw new ValueError(`--results ${resultsFile} must hold a JSON array of COCO results`);
  const evaluator = new CocoEvaluator(groundTruth);
  ctx.note(`evaluating ${results.length} results on ${evaluator.groundTruth.images.size} images (${iouType})`);
  const evaluation = evaluator.evaluate(results as CocoResult[], iouType);
  if (ctx.common.json) {
    const { stats, named, perCategory } = evaluation;
    ctx.printJson({ iouType, stats, named, perCategory });
    return;
  }
  ctx.print(evaluation.summary);
}

/** `residual eval --ann FILE --results FILE [--iou-type bbox|segm]`: pycocotools' COCOeval summary. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'COCO bbox/segm evaluation of a results file (pycocotools COCOeval numbers)',
  help: `Usage: residual eval --ann FILE --results FILE [--iou-type bbox|segm]

Evaluates COCO results (a JSON array of {image_id, category_id, score, bbox | segmentation})
against a COCO instances file, as pycocotools' COCOeval does, and prints its 12-line summary
(with --json: the 12 stats, named, and per-category AP).

Flags:
  --ann FILE                COCO instances JSON (the ground truth)
  --results FILE            COCO results JSON
  --iou-type bbox|segm      box IoU or mask IoU (default bbox)`,
  options: {
    ann: { type: 'string' },
    results: { type: 'string' },
    'iou-type': { type: 'string' },
  },
  run: runEval,
};
