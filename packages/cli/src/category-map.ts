import * as path from 'node:path';
import { ValueError } from '@residual/core';
import { COCO_CATEGORY_NAMES } from './coco-category-names.js';
import { readJsonInput } from './read-input.js';

/**
 * How `residual detect` names what it found: COCO image ids for image files, COCO category ids and
 * names for the model's labels (contiguous, 0 = background).
 */
export interface CategoryMap {
  /** The COCO image id of an image (`index`: its position in the whole sorted list). */
  imageId(file: string, index: number): number;
  /** The COCO category id of a model label. */
  categoryId(label: number): number;
  /** A display name of a model label. */
  name(label: number): string;
}

/**
 * Without `--ann` (with or without `--label-map identity`): image ids follow the sorted file list from 1, and category ids are the labels
 * themselves (names are the label numbers, or torchvision's COCO names for 91-class models).
 */
export function defaultCategoryMap(numClasses: number): CategoryMap {
  return {
    imageId: (_file, index) => index + 1,
    categoryId: (label) => label,
    name: (label) => (numClasses === COCO_CATEGORY_NAMES.length ? COCO_CATEGORY_NAMES[label] : String(label)),
  };
}

interface AnnImage {
  id: number;
  file_name: string;
}

interface AnnCategory {
  id: number;
  name: string;
}

/**
 * `--ann FILE`: image ids come from the `images` entry whose `file_name` has the image's base name
 * (an image missing from the file is a ValueError when it is looked up). Category ids in ascending
 * id order are labels 1..K (as `CocoDataset` and `residual train` number them; the model must have
 * K + 1 classes), or with `identity` (`--label-map identity`) the labels are the category ids
 * themselves, named from the file where it has them. Bad files are ValueErrors naming the file and entry.
 */
export async function annCategoryMap(file: string, numClasses: number, identity = false): Promise<CategoryMap> {
  const json = (await readJsonInput(file, '--ann')) as { images?: unknown; categories?: unknown };
  const bad = (what: string): never => {
    throw new ValueError(`--ann ${file}: ${what}`);
  };
  if (json === null || typeof json !== 'object' || !Array.isArray(json.images) || !Array.isArray(json.categories)) {
    bad('expected a COCO instances object with "images" and "categories" arrays');
  }
  const images = json.images as AnnImage[];
  const categories = [...(json.categories as AnnCategory[])];
  images.forEach((im, i) => {
    if (!Number.isInteger(im?.id) || typeof im?.file_name !== 'string') bad(`images[${i}] needs an integer "id" and a string "file_name"`);
  });
  categories.forEach((c, i) => {
    if (!Number.isInteger(c?.id) || typeof c?.name !== 'string') bad(`categories[${i}] needs an integer "id" and a string "name"`);
  });
  categories.sort((a, b) => a.id - b.id);
  const byName = new Map<string, number>();
  for (const im of images) byName.set(path.basename(im.file_name), im.id);
  const imageId = (image: string): number => {
    const id = byName.get(path.basename(image));
    if (id === undefined) throw new ValueError(`--ann ${file} has no image with file_name ${path.basename(image)}`);
    return id;
  };
  if (identity) {
    const names = new Map(categories.map((c) => [c.id, c.name]));
    const fallback = defaultCategoryMap(numClasses);
    return { imageId, categoryId: (label) => label, name: (label) => names.get(label) ?? fallback.name(label) };
  }
  if (categories.length + 1 !== numClasses) {
    bad(`has ${categories.length} categories, but the weights have ${numClasses} classes (background included: expected ${numClasses - 1} categories)`);
  }
  return {
    imageId,
    categoryId: (label) => categories[label - 1].id,
    name: (label) => categories[label - 1].name,
  };
}
