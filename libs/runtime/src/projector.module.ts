import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Projector } from '@fleetcompat/projections';
import { Settings } from '@fleetcompat/platform';
import { SETTINGS } from './database.module';
import { ProcessSignals } from './signals';

/** Runs the projector loop for the life of the process. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Projector');
  readonly projector: Projector;

  constructor(dataSource: DataSource, signals: ProcessSignals, @Inject(SETTINGS) settings: Settings) {
    this.projector = new Projector(dataSource, {
      batchSize: settings.PROJECTOR_BATCH_SIZE,
      maxGuestsPerHost: settings.MAX_GUESTS_PER_HOST,
      onCommitted: (r) => {
        if (r.decisions > 0) signals.decisionsQueued();
        this.log.log({
          msg: `projected ${r.events} event${r.events === 1 ? '' : 's'}, queued ${r.decisions} decision${r.decisions === 1 ? '' : 's'}; checkpoint ${r.checkpoint.transactionId}/${r.checkpoint.globalPosition}; batch held the lock ${r.lockedAt} .. ${r.committedAt}`,
          lockedAt: r.lockedAt,
          committedAt: r.committedAt,
          events: r.events,
          decisions: r.decisions,
          checkpoint: `${r.checkpoint.transactionId}/${r.checkpoint.globalPosition}`,
          ms: r.phases,
        });
      },
    });
    signals.onEventsStored(() => this.projector.notify());
  }

  onApplicationBootstrap(): void {
    this.projector.start();
  }

  /** Finishes the batch in hand (committed or rolled back whole) and stops. Idempotent. */
  async stop(): Promise<void> {
    await this.projector.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}

@Module({ providers: [ProjectorService], exports: [ProjectorService] })
export class ProjectorModule {}
