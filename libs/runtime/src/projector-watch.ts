import { checkpointText } from '@fleetcompat/event-store';
import type { OpenTransaction, ProjectorPosition } from '@fleetcompat/projections';

/** What the watch needs of the projector (Projector.position(); a stand-in may leave out what is held back). */
export interface PositionSource {
  position(): Promise<
    Pick<ProjectorPosition, 'checkpoint' | 'behind'> & Partial<Pick<ProjectorPosition, 'heldBack' | 'holder'>>
  >;
}

export interface ProjectorProgress {
  /** Events committed to the store that the projector has not applied yet (readable or not). */
  readonly behind: number;
  /** Of those, the ones held back by an older transaction still open on the server. */
  readonly heldBack: number;
  /** That transaction, when Postgres names it. */
  readonly holder?: OpenTransaction;
  /** Seconds since the checkpoint last moved while there was work (0 when there is none). */
  readonly stalledForSeconds: number;
  /** True when events wait and the checkpoint has not moved for `stallSeconds`. */
  readonly stalled: boolean;
}

/**
 * Tells whether the projector is stalled: events wait (`behind` > 0) and its checkpoint has
 * not moved for `stallSeconds`. Sampled on every call (readiness, metrics) and by a timer,
 * so that a stall is seen whatever the probe cadence.
 */
export class ProjectorWatch {
  private lastCheckpoint?: string;
  private lastProgressAt: number;
  private last?: ProjectorProgress;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly source: PositionSource,
    private readonly stallSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastProgressAt = now();
  }

  /** Samples every `intervalMs` in the background (unref'd: it keeps no process alive). */
  start(intervalMs = 5000): void {
    this.timer ??= setInterval(() => void this.sample().catch(() => undefined), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The latest sample, if any. */
  get latest(): ProjectorProgress | undefined {
    return this.last;
  }

  async sample(): Promise<ProjectorProgress> {
    const { checkpoint, behind, heldBack = 0, holder } = await this.source.position();
    const key = checkpointText(checkpoint);
    const now = this.now();
    if (key !== this.lastCheckpoint || behind === 0) {
      this.lastCheckpoint = key;
      this.lastProgressAt = now;
    }
    const stalledForSeconds = behind > 0 ? (now - this.lastProgressAt) / 1000 : 0;
    this.last = {
      behind,
      heldBack,
      ...(holder ? { holder } : {}),
      stalledForSeconds,
      stalled: behind > 0 && stalledForSeconds >= this.stallSeconds,
    };
    return this.last;
  }
}
