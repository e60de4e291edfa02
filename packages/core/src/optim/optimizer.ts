import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';

/**
 * Gradients for {@link Optimizer.step}: either a Map from the parameter itself, or the
 * `NamedTensorMap` that `tf.variableGrads(f, varList).grads` returns, keyed by `tf.Variable.name`.
 * Borrowed: step never disposes them. A parameter with no entry is skipped, as torch skips
 * parameters whose `.grad` is None.
 */
export type Gradients = Map<tf.Variable, tf.Tensor> | tf.NamedTensorMap;

/** A group's parameters: a list, or a Map from (state-dict) name to parameter, as `Module.namedParameters()`. */
export type GroupParams = tf.Variable[] | Map<string, tf.Variable>;

/** A hyper-parameter value: numbers, flags, and Adam's `betas` pair. */
export type HyperValue = number | boolean | readonly [number, number];

/** A parameter group: the group's hyper-parameters (mutable: schedulers set `lr`) and its parameters. */
export type ParamGroup<H> = H & {
  /** The group's parameters, in order. Borrowed: they belong to their Module. */
  readonly params: readonly tf.Variable[];
  /** Names given through a Map (undefined for list entries); used in error messages. */
  readonly names: readonly (string | undefined)[];
};

/** Per-parameter optimiser state: steps taken and torch-named buffers (`exp_avg`, `momentum_buffer`, …). */
export interface ParamState {
  step: number;
  buffers: Record<string, tf.Tensor>;
}

/**
 * Serialisable optimiser state, laid out as torch's `optimizer.state_dict()`: parameters are
 * numbered by their flat index over all groups in order. `paramGroups` and the `step` counts are
 * JSON; buffer tensors are new copies the caller owns (dispose them after saving).
 */
export interface OptimizerState {
  paramGroups: Array<{ params: number[]; [hyper: string]: HyperValue | number[] }>;
  state: Record<number, ParamState>;
}

/**
 * Base class of residual's optimisers: parameter groups with torch's defaults merging, the
 * gradient lookup, per-parameter state, `state()`/`loadState()` and `dispose()`.
 * tfjs keeps no `.grad` on variables, so there is no `zeroGrad`: each `step` receives the
 * gradients of that step, e.g. `const { value, grads } = tf.variableGrads(lossFn, params);
 * optimizer.step(grads); tf.dispose([value, grads])`.
 */
export abstract class Optimizer<H extends { lr: number }> {
  /** Parameter groups in construction order; `lr` and the other hyper-parameters are mutable. */
  readonly paramGroups: ParamGroup<H>[];
  private readonly paramState = new Map<tf.Variable, ParamState>();

  protected constructor(
    groups: Array<{ params: GroupParams } & Partial<H>> | tf.Variable[] | Map<string, tf.Variable>,
    defaults: H,
    private readonly where: string,
  ) {
    const list = Array.isArray(groups) && groups.every((g) => g instanceof tf.Variable)
      ? [{ params: groups as tf.Variable[] }]
      : groups instanceof Map
        ? [{ params: groups }]
        : (groups as Array<{ params: GroupParams } & Partial<H>>);
    if (list.length === 0) throw new ValueError(`${where}: expected at least one parameter group, got none`);
    const seen = new Set<tf.Variable>();
    this.paramGroups = list.map((group, g) => {
      const { params, ...hyper } = group;
      const names = params instanceof Map ? [...params.keys()] : params.map(() => undefined);
      const vars = params instanceof Map ? [...params.values()] : params;
      vars.forEach((v, i) => {
        if (!(v instanceof tf.Variable)) throw new ValueError(`${where}: paramGroups[${g}].params[${i}] must be a tf.Variable`);
        if (seen.has(v)) {
          throw new ValueError(`${where}: parameter ${names[i] ?? v.name} appears in more than one parameter group`);
        }
        seen.add(v);
      });
      const merged = { ...defaults, ...stripUndefined(hyper) } as H;
      this.validate(merged, `paramGroups[${g}]`);
      return Object.assign(merged, { params: vars, names }) as ParamGroup<H>;
    });
    if (seen.size === 0) throw new ValueError(`${where}: got an empty parameter list`);
  }

  /** Throws a ValueError for hyper-parameters torch rejects (`at` names the group). */
  protected abstract validate(hyper: H, at: string): void;

  /**
   * One parameter's update, called inside a tidy with `state.step` already counted.
   * Returns the new parameter value and the new buffers (tensors created here or kept ones).
   */
  protected abstract update(
    param: tf.Tensor,
    grad: tf.Tensor,
    state: ParamState,
    hyper: H,
  ): { param: tf.Tensor; buffers: Record<string, tf.Tensor> };

  /**
   * Applies one update to every parameter that has a gradient in `grads` (borrowed).
   * Parameters are updated in place (`Variable.assign`); every intermediate is freed. Throws
   * a ShapeError for a gradient whose shape differs from its parameter's, and a ValueError when
   * `grads` is non-empty but matches no parameter (e.g. keyed by state-dict names instead of
   * `Variable.name`).
   */
  step(grads: Gradients): void {
    const lookup = (v: tf.Variable): tf.Tensor | undefined =>
      grads instanceof Map ? grads.get(v) : grads[v.name];
    let matched = 0;
    for (const group of this.paramGroups) {
      group.params.forEach((param, i) => {
        const grad = lookup(param);
        if (grad === undefined) return;
        matched++;
        if (!tf.util.arraysEqual(grad.shape, param.shape)) {
          throw new ShapeError(
            `${this.where}.step: gradient of ${group.names[i] ?? param.name} must be ${formatShape(param.shape)} ` +
              `(the parameter's shape), got ${formatShape(grad.shape)}`,
          );
        }
        const state = this.paramState.get(param) ?? { step: 0, buffers: {} };
        const old = state.buffers;
        const next = tf.tidy(() => {
          const out = this.update(param, grad, { step: state.step + 1, buffers: old }, group);
          param.assign(out.param);
          return out.buffers;
        });
        for (const [key, t] of Object.entries(old)) if (next[key] !== t) t.dispose();
        this.paramState.set(param, { step: state.step + 1, buffers: next });
      });
    }
    const size = grads instanceof Map ? grads.size : Object.keys(grads).length;
    if (matched === 0 && size > 0) {
      throw new ValueError(
        `${this.where}.step: none of the ${size} gradients matches a parameter of this optimizer ` +
          '(key them by the tf.Variable or by Variable.name, as tf.variableGrads does)',
      );
    }
  }

  /** Snapshot of groups, step counts and buffers (torch's state_dict layout); the caller owns the buffer copies. */
  state(): OptimizerState {
    let index = 0;
    const state: Record<number, ParamState> = {};
    const paramGroups = this.paramGroups.map((group) => {
      const { params, names: _names, ...hyper } = group;
      const indices = params.map((p) => {
        const s = this.paramState.get(p);
        if (s !== undefined) {
          const buffers: Record<string, tf.Tensor> = {};
          for (const [k, t] of Object.entries(s.buffers)) buffers[k] = tf.clone(t);
          state[index] = { step: s.step, buffers };
        }
        return index++;
      });
      return { ...(hyper as unknown as Record<string, HyperValue>), params: indices };
    });
    return { paramGroups, state };
  }

  /**
   * Restores a {@link OptimizerState} (e.g. from a checkpoint): group hyper-parameters, step
   * counts and buffers, so the following steps are bit-identical to an uninterrupted run.
   * Copies the buffers; `state` stays owned by the caller. Throws if the group layout or a
   * buffer shape does not fit this optimiser.
   */
  loadState(state: OptimizerState): void {
    const where = `${this.where}.loadState`;
    if (state.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(`${where}: state has ${state.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex: tf.Variable[] = [];
    this.paramGroups.forEach((group, g) => {
      const saved = state.paramGroups[g].params.length;
      if (saved !== group.params.length) {
        throw new ValueError(`${where}: paramGroups[${g}] has ${saved} parameters in the state, ${group.params.length} in the optimizer`);
      }
      byIndex.push(...group.params);
    });
    for (const [key, s] of Object.entries(state.state)) {
      const param = byIndex[Number(key)];
      if (param === undefined) throw new ValueError(`${where}: state[${key}] names no parameter (there are ${byIndex.length})`);
      for (const [name, t] of Object.entries(s.buffers)) {
        if (!tf.util.arraysEqual(t.shape, param.shape)) {
          throw new ShapeError(`${where}: state[${key}].${name} must be ${formatShape(param.shape)} (the parameter's shape), got ${formatShape(t.shape)}`);
        }
      }
    }
    this.paramGroups.forEach((group, g) => {
      const { params: _params, ...hyper } = state.paramGroups[g];
      const merged = { ...group, ...hyper } as unknown as H;
      this.validate(merged, `paramGroups[${g}]`);
      Object.assign(group, hyper);
    });
    this.clearState();
    for (const [key, s] of Object.entries(state.state)) {
      const buffers: Record<string, tf.Tensor> = {};
      for (const [name, t] of Object.entries(s.buffers)) buffers[name] = tf.clone(t);
      this.paramState.set(byIndex[Number(key)], { step: s.step, buffers });
    }
  }

  /** Frees the state buffers; the parameters stay (they belong to their Module). */
  dispose(): void {
    this.clearState();
  }

  private clearState(): void {
    for (const s of this.paramState.values()) tf.dispose(Object.values(s.buffers));
    this.paramState.clear();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
