import type { DetectResponse } from './protocol.js';

/** What the page exposes for tests and the console: its state and the last detection. */
export interface DemoState {
  state: 'starting' | 'idle' | 'loading' | 'running' | 'done' | 'error';
  backend?: string;
  error?: string;
  last?: Omit<DetectResponse, 'rendered'>;
  lastMae?: { width: number; height: number; ms: number };
}

declare global {
  interface Window {
    residualDemo: DemoState;
  }
}
