import { ValueError } from '../errors.js';

/** A schedule: the lr of a group at `step`, given the group's lr when the scheduler was made. */
export type LrSchedule = (step: number, baseLr: number, groupIndex: number) => number;

/** Serialisable scheduler state (JSON): the step and the base lrs of the groups. */
export interface LRSchedulerState {
  lastStep: number;
  baseLrs: number[];
}

/**
 * Applies a pure schedule to an optimiser's groups, as torch's _LRScheduler: on construction it
 * records each group's lr as its base lr and sets step 0's lr; each `step()` advances one step
 * and sets every group's lr. Example:
 * `new LRScheduler(opt, (s, baseLr) => cosineAnnealingLR(s, { baseLr, tMax: 100 }))`.
 */
export class LRScheduler {
  private readonly baseLrs: number[];
  private current = 0;

  constructor(
    /** Any optimiser with mutable group lrs (SGD, Adam, AdamW). Borrowed. */
    private readonly optimizer: { readonly paramGroups: ReadonlyArray<{ lr: number }> },
    private readonly schedule: LrSchedule,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Advances one step (call after optimizer.step(), as in torch) and sets the groups' lrs. */
  step(): void {
    this.current++;
    this.apply();
  }

  /** The step whose lr is in effect (torch's last_epoch). */
  get lastStep(): number {
    return this.current;
  }

  /** The lr of each group as last set (torch's get_last_lr()). */
  get lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The step and base lrs, to store in a checkpoint. */
  state(): LRSchedulerState {
    return { lastStep: this.current, baseLrs: [...this.baseLrs] };
  }

  /** Restores a state and sets the groups' lrs for its step. */
  loadState(state: LRSchedulerState): void {
    if (state.baseLrs.length !== this.baseLrs.length) {
      throw new ValueError(
        `LRScheduler.loadState: state has ${state.baseLrs.length} base lrs, the optimizer has ${this.baseLrs.length} groups`,
      );
    }
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.current = state.lastStep;
    this.apply();
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.schedule(this.current, this.baseLrs[i], i);
    });
  }
}
