import { writeShapesDataset } from '@residual/data';
import type { Command, CommandContext } from './command.js';
import { numberFlag, positionals } from './flag-values.js';

async function runDemoData(ctx: CommandContext): Promise<void> {
  const [dir] = positionals(ctx, 'demo-data', 'DIR', 1);
  const numImages = numberFlag(ctx, 'demo-data', 'images', 200, { integer: true, min: 1 });
  const imageSize = numberFlag(ctx, 'demo-data', 'size', 128, { integer: true, min: 32 });
  const seed = numberFlag(ctx, 'demo-data', 'seed', 0, { integer: true, min: 0 });
  const maxShapeSize = Math.min(64, imageSize);
  const minShapeSize = Math.min(16, maxShapeSize);
  const files = await writeShapesDataset(dir, { numImages, imageSize, seed, minShapeSize, maxShapeSize });
  if (ctx.common.json) {
    ctx.printJson(files);
    return;
  }
  ctx.print(`${files.numImages} images with ${files.numAnnotations} shapes (circle, square, triangle, star)`);
  ctx.print(`  images:      ${files.imageDir}`);
  ctx.print(`  annotations: ${files.annotationFile}`);
  ctx.print(`try: residual train --data ${files.imageDir} --ann ${files.annotationFile} --arch maskrcnn --backbone resnet18 --min-size ${imageSize} --max-size ${imageSize} --out ckpt`);
}

/** `residual demo-data DIR [--images N --size S --seed S]`: the synthetic shapes COCO set, for offline trials. */
export const demoDataCommand: Command = {
  name: 'demo-data',
  summary: 'write the synthetic shapes data set (COCO folder) to try train and detect offline',
  help: `Usage: residual demo-data DIR [--images 200] [--size 128] [--seed 0]

Writes @residual/data's seeded shapes set as a COCO folder: DIR/images/NNNNNN.png and
DIR/annotations.json (circles, squares, triangles and stars with RLE masks). The same flags
give byte-identical files.

Flags:
  --images N     number of images (default 200)
  --size S       image side in pixels, ≥ 32 (default 128; shapes are 16–64 px, capped at S)
  --seed S       seed (default 0)`,
  options: {
    images: { type: 'string' },
    size: { type: 'string' },
    seed: { type: 'string' },
  },
  run: runDemoData,
};
