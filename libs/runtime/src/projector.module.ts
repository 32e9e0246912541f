import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { checkpointText } from '@fleetcompat/event-store';
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
      shard: { index: settings.PROJECTOR_SHARD, count: settings.PROJECTOR_SHARDS },
      maxGuestsPerHost: settings.MAX_GUESTS_PER_HOST,
      onCommitted: (r) => {
        if (r.decisions > 0) signals.decisionsQueued();
        const cp = (c?: { transactionId: string; globalPosition: string }) => (c ? checkpointText(c) : '');
        // one line per committed batch; the fault suite reads it to check that batches never overlap
        this.log.log({
          msg: `batch committed: processor=${this.projector.processor} events=${r.events} decisions=${r.decisions} started=${r.startedAt} committing=${r.committingAt} committed=${r.committedAt} from=${cp(r.from)} checkpoint=${cp(r.checkpoint)}`,
          events: r.events,
          decisions: r.decisions,
          checkpoint: cp(r.checkpoint),
          processor: this.projector.processor,
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
