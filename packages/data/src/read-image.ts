import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import sharp from 'sharp';

/** Options of {@link decodeImage} and {@link readImage}. */
export interface ReadImageOptions {
  /**
   * Apply the EXIF orientation tag (sharp's `.rotate()`), so pixels are upright as a viewer shows
   * them (as detectron2's `read_image`). Default true. Set false to keep the stored pixel order,
   * as PIL's `Image.open` in torchvision's `CocoDetection` does.
   */
  exifOrientation?: boolean;
}

/** A decoded RGB image: row-major HWC float32 values in [0,1]. */
export interface DecodedImage {
  /** h·w·3 values, RGB, row-major (HWC). */
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * Decodes image bytes (PNG, JPEG, WebP, or anything else sharp reads) to RGB float32 in [0,1]:
 * grey becomes three equal channels, alpha is dropped without compositing (as PIL's
 * `convert('RGB')`), 8-bit values are divided by 255 and 16-bit PNG values by 65535 (no loss of
 * the extra bits). `name` (the file) is used in error messages. Throws ValueError for bytes that
 * are corrupt, truncated or not an image; the decoder's own message is in the error's `cause`.
 */
export async function decodeImage(bytes: Uint8Array, name: string, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const { exifOrientation = true } = options;
  try {
    const deep = (await sharp(bytes).metadata()).depth === 'ushort';
    let pipeline = sharp(bytes);
    if (exifOrientation) pipeline = pipeline.rotate();
    pipeline = pipeline.removeAlpha().toColourspace(deep ? 'rgb16' : 'srgb');
    const { data, info } = await pipeline.raw(deep ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    const n = info.width * info.height * 3;
    const out = new Float32Array(n);
    if (deep) {
      const v = new Uint16Array(data.buffer, data.byteOffset, n);
      // v / 65535 in double then one rounding to float32 equals the float32 division exactly.
      for (let i = 0; i < n; i++) out[i] = v[i] / 65535;
    } else {
      for (let i = 0; i < n; i++) out[i] = data[i] / 255;
    }
    return { data: out, height: info.height, width: info.width };
  } catch (cause) {
    // core's ValueError takes only a message: attach the decoder's error as `cause` for debugging.
    throw Object.assign(new ValueError(`decodeImage: cannot decode ${name}: corrupt, truncated or not an image`), { cause });
  }
}

/**
 * Reads and decodes an image file to a Tensor3D [H,W,3] float32 in [0,1] (see {@link decodeImage});
 * the caller owns it. Throws ValueError naming the file when it is missing or unreadable.
 */
export async function readImage(file: string, options: ReadImageOptions = {}): Promise<tf.Tensor3D> {
  const { data, height, width } = await decodeImage(await readImageBytes(file, 'readImage'), file, options);
  return tf.tensor3d(data, [height, width, 3], 'float32');
}

/** Reads a file's bytes; a missing or unreadable file throws ValueError naming `where` and the file. */
export async function readImageBytes(file: string, where: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable');
    throw Object.assign(new ValueError(`${where}: cannot read image ${file}: ${why}`), { cause });
  }
}
