import { BeforeApplicationShutdown, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { OUTBOX_STORE, OutboxStore } from '@fleetcompat/contract';
import { OutboxRelay } from '@fleetcompat/kafka';
import { Settings } from '@fleetcompat/platform';
import { SETTINGS } from './database.module';
import { kafkaOptionsFrom, prefixedOutbox } from './kafka-wiring';
import { ProcessSignals } from './signals';

/** Publishes the outbox to fleet.placement-decisions.v1 for the life of the process. */
@Injectable()
export class RelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly relay: OutboxRelay;

  constructor(@Inject(OUTBOX_STORE) outbox: OutboxStore, signals: ProcessSignals, @Inject(SETTINGS) settings: Settings) {
    this.relay = new OutboxRelay({ kafka: kafkaOptionsFrom(settings, 'relay'), outbox: prefixedOutbox(settings, outbox), batchSize: settings.RELAY_BATCH_SIZE });
    signals.onDecisionsQueued(() => this.relay.notify());
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

@Module({ providers: [RelayService], exports: [RelayService] })
export class RelayModule {}
