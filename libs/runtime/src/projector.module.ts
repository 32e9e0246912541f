import { Inject, Injectable, Module, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Projector } from '@fleetcompat/projections';
import { Settings } from '@fleetcompat/platform';
import { SETTINGS } from './database.module';
import { ProcessSignals } from './signals';

/** Runs the projector loop for the life of the process. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly projector: Projector;

  constructor(dataSource: DataSource, signals: ProcessSignals, @Inject(SETTINGS) settings: Settings) {
    this.projector = new Projector(dataSource, {
      batchSize: settings.PROJECTOR_BATCH_SIZE,
      onCommitted: (r) => {
        if (r.decisions > 0) signals.decisionsQueued();
      },
    });
    signals.onEventsStored(() => this.projector.notify());
  }

  onApplicationBootstrap(): void {
    this.projector.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.projector.stop();
  }
}

@Module({ providers: [ProjectorService], exports: [ProjectorService] })
export class ProjectorModule {}
