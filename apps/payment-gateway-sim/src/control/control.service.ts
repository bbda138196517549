import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimError } from '../sim.error';

export interface ControlState {
  latencyMs: number;
  errorRate: number;
  outage: boolean;
}

/** The simulator's run-time behaviour: latency, random errors and outages applied to every POST. */
@Injectable()
export class ControlService {
  private state: ControlState;

  constructor(initial: ControlState, private readonly random: () => number = Math.random) {
    this.state = { ...initial };
  }

  get(): ControlState {
    return { ...this.state };
  }

  /** Fields left out keep their current value. */
  update(patch: Partial<ControlState>): ControlState {
    this.state = {
      latencyMs: patch.latencyMs ?? this.state.latencyMs,
      errorRate: patch.errorRate ?? this.state.errorRate,
      outage: patch.outage ?? this.state.outage,
    };
    return this.get();
  }

  /** Waits the configured latency, then fails with 503 during an outage or by the error rate. */
  async gate(): Promise<void> {
    const { latencyMs } = this.state;
    if (latencyMs > 0) await sleep(latencyMs);
    if (this.state.outage) throw new SimError('unavailable', 'simulated outage');
    if (this.state.errorRate > 0 && this.random() < this.state.errorRate) throw new SimError('unavailable', 'simulated transient error');
  }
}
