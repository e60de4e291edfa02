import * as path from 'node:path';
import { openFixture, type Fixture } from '@residual/test-utils';

export type { Fixture };

/** Loads this package's `test/fixtures/<name>.safetensors`. */
export function fixture(name: string): Fixture {
  return openFixture(path.join(__dirname, '..'), name);
}
