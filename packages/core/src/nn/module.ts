import * as tf from '@tensorflow/tfjs-core';
import { StateDictError, ValueError, formatShape } from '../errors.js';
import { identityLayout, type TorchLayout } from './layout.js';

interface Slot {
  variable: tf.Variable;
  layout: TorchLayout;
}

interface BufferSlot extends Slot {
  persistent: boolean;
}

/** A state dict: torch key names → tensors in torch layout. */
export type StateDict = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw a StateDictError on any missing, unexpected or mis-shaped key (default true). */
  strict?: boolean;
}

/** What a non-strict {@link Module.loadStateDict} could not match. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const LIST_LIMIT = 10;

function listKeys(keys: string[]): string {
  const shown = keys.slice(0, LIST_LIMIT).map((k) => `"${k}"`).join(', ');
  return keys.length > LIST_LIMIT ? `${shown}, … (${keys.length} in all)` : shown;
}

/**
 * Base class of every layer and model, like torch.nn.Module: parameters, buffers and child
 * modules registered under their torch names, train/eval mode, and state dicts in torch key
 * names and layouts. Parameters and buffers are tf.Variables owned by the module and freed by
 * {@link dispose}. Subclasses define their own `forward`.
 */
export class Module {
  /** True in training mode (dropout active, BatchNorm uses batch statistics). */
  training = true;
  private readonly paramSlots = new Map<string, Slot>();
  private readonly bufferSlots = new Map<string, BufferSlot>();
  private readonly childModules = new Map<string, Module>();
  /** Local state-dict keys that loadStateDict drops silently (torch's _load_from_state_dict hooks). */
  protected readonly ignoredStateDictKeys = new Set<string>();

  /**
   * Registers a trainable parameter under its torch name and returns it. Takes ownership of
   * `value` (stored in tfjs layout; `layout` says how to reach torch's).
   */
  protected registerParameter(name: string, value: tf.Tensor, layout: TorchLayout = identityLayout): tf.Variable {
    this.checkName(name);
    const variable = tf.variable(value, true, undefined, value.dtype);
    value.dispose();
    this.paramSlots.set(name, { variable, layout });
    return variable;
  }

  /**
   * Registers a buffer (running statistics, fixed embeddings). Takes ownership of `value`.
   * Non-persistent buffers are left out of state dicts, as torch's `persistent=False`.
   */
  protected registerBuffer(
    name: string,
    value: tf.Tensor,
    options: { layout?: TorchLayout; persistent?: boolean } = {},
  ): tf.Variable {
    this.checkName(name);
    const variable = tf.variable(value, false, undefined, value.dtype);
    value.dispose();
    this.bufferSlots.set(name, { variable, layout: options.layout ?? identityLayout, persistent: options.persistent ?? true });
    return variable;
  }

  /** Registers a child module under its torch name (e.g. `'layer1'`, `'0'`) and returns it. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.childModules.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new ValueError(`Module: name "${name}" must be non-empty and contain no "."`);
    }
    if (this.paramSlots.has(name) || this.bufferSlots.has(name) || this.childModules.has(name)) {
      throw new ValueError(`Module: "${name}" is already registered`);
    }
  }

  /** Direct children by torch name, in registration order. */
  children(): Map<string, Module> {
    return new Map(this.childModules);
  }

  /** This module (key '') and every descendant, by dotted torch name. */
  namedModules(prefix = ''): Map<string, Module> {
    const out = new Map<string, Module>([[prefix, this]]);
    for (const [name, child] of this.childModules) {
      for (const [k, m] of child.namedModules(prefix ? `${prefix}.${name}` : name)) out.set(k, m);
    }
    return out;
  }

  private *walk<S>(select: (m: Module) => Map<string, S>, prefix = ''): Generator<[string, S]> {
    for (const [name, slot] of select(this)) yield [prefix + name, slot];
    for (const [name, child] of this.childModules) yield* child.walk(select, `${prefix}${name}.`);
  }

  /** Every parameter by dotted torch name (tfjs layout; borrowed, do not dispose). */
  namedParameters(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [k, s] of this.walk((m) => m.paramSlots)) out.set(k, s.variable);
    return out;
  }

  /** Every parameter (borrowed). */
  parameters(): tf.Variable[] {
    return [...this.namedParameters().values()];
  }

  /** Parameters that receive gradients (`trainable`), by name (borrowed). */
  trainableParameters(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters()].filter(([, v]) => v.trainable));
  }

  /** Every buffer by dotted torch name, persistent or not (tfjs layout; borrowed, do not dispose). */
  namedBuffers(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [k, s] of this.walk((m) => m.bufferSlots)) out.set(k, s.variable);
    return out;
  }

  /** Sets whether this module's parameters get gradients (torch's `requires_grad_`). */
  requiresGrad(flag = true): this {
    for (const v of this.parameters()) v.trainable = flag;
    return this;
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const m of this.namedModules().values()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode (`train(false)`). */
  eval(): this {
    return this.train(false);
  }

  private stateSlots(): Map<string, Slot> {
    const out = new Map<string, Slot>();
    const visit = (m: Module, prefix: string): void => {
      for (const [name, s] of m.paramSlots) out.set(prefix + name, s);
      for (const [name, s] of m.bufferSlots) if (s.persistent) out.set(prefix + name, s);
      for (const [name, child] of m.childModules) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  private ignoredKeys(): Set<string> {
    const out = new Set<string>();
    for (const [prefix, m] of this.namedModules()) {
      for (const k of m.ignoredStateDictKeys) out.add(prefix ? `${prefix}.${k}` : k);
    }
    return out;
  }

  /**
   * Parameters and persistent buffers in torch key order, names and layouts, as new tensors
   * the caller disposes.
   */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, s] of this.stateSlots()) out.set(k, tf.tidy(() => s.layout.toTorch(s.variable)));
    return out;
  }

  /**
   * Copies a torch-layout state dict into this module's variables (the dict stays the caller's).
   * Values are cast to each variable's dtype, as torch's copy_ does. With `strict` (default) any
   * missing, unexpected or mis-shaped key throws a StateDictError naming all of them, and nothing
   * is changed; otherwise unmatched keys are returned and mis-shaped keys still throw.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const slots = this.stateSlots();
    const ignored = this.ignoredKeys();
    const missingKeys = [...slots.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !slots.has(k) && !ignored.has(k));
    const misShaped: string[] = [];
    for (const [k, t] of entries) {
      const slot = slots.get(k);
      if (!slot) continue;
      const want = slot.layout.torchShape(slot.variable.shape);
      if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
        misShaped.push(`"${k}" expected ${formatShape(want)} (torch layout), got ${formatShape(t.shape)}`);
      }
    }
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys (${missingKeys.length}): ${listKeys(missingKeys)}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys (${unexpectedKeys.length}): ${listKeys(unexpectedKeys)}`);
    if (misShaped.length) {
      const shown = misShaped.slice(0, LIST_LIMIT).join('; ');
      problems.push(`mis-shaped keys (${misShaped.length}): ${shown}${misShaped.length > LIST_LIMIT ? '; …' : ''}`);
    }
    if (problems.length) throw new StateDictError(`loadStateDict: ${problems.join('; ')}`);
    for (const [k, t] of entries) {
      const slot = slots.get(k);
      if (!slot) continue;
      tf.tidy(() => {
        const value = slot.layout.fromTorch(t.dtype === slot.variable.dtype ? t : tf.cast(t, slot.variable.dtype));
        slot.variable.assign(value);
      });
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Re-initialises this module's own parameter or buffer `name`: `init` receives the torch-layout
   * shape and returns a new torch-layout tensor (it is disposed here), e.g.
   * `conv.initParameter('weight', (s) => kaimingNormal(s, { mode: 'fan_out', nonlinearity: 'relu' }))`.
   */
  initParameter(name: string, init: (torchShape: number[]) => tf.Tensor): void {
    const slot = this.paramSlots.get(name) ?? this.bufferSlots.get(name);
    if (!slot) throw new ValueError(`initParameter: no parameter or buffer "${name}" in ${this.constructor.name}`);
    const value = init(slot.layout.torchShape(slot.variable.shape));
    try {
      tf.tidy(() => slot.variable.assign(slot.layout.fromTorch(value)));
    } finally {
      value.dispose();
    }
  }

  /**
   * Frees every parameter and buffer of this module and its descendants, each child through its own
   * `dispose()`, so a subclass that keeps other tensors (a cache) frees them by overriding it.
   */
  dispose(): void {
    for (const child of this.childModules.values()) child.dispose();
    for (const s of this.paramSlots.values()) s.variable.dispose();
    for (const s of this.bufferSlots.values()) s.variable.dispose();
  }
}
