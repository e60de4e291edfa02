import { ValueError } from '../errors.js';
import { Module } from './module.js';

/**
 * torch.nn.ModuleList: holds modules registered as "0", "1", … (torch's state-dict keys) with no
 * forward of its own; the owner decides how to call them.
 */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Registers `module` under the next index and returns it. */
  append(module: M): M {
    this.items.push(this.registerModule(String(this.items.length), module));
    return module;
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** Module `i` (borrowed; negative indexes count from the end). Throws ValueError out of range. */
  get(i: number): M {
    const j = i < 0 ? this.items.length + i : i;
    if (!Number.isInteger(j) || j < 0 || j >= this.items.length) {
      throw new ValueError(`ModuleList.get: index ${i} out of range for ${this.items.length} modules`);
    }
    return this.items[j];
  }

  /** Iterates the modules in order (borrowed). */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
