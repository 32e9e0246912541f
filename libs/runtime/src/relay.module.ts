import { BeforeApplicationShutdown, Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { OUTBOX_STORE, OutboxStore } from '@fleetcompat/contract';
import { OutboxRelay } from '@fleetcompat/kafka';
import { Settings } from '@fleetcompat/platform';
import { PostgresOutbox } from '@fleetcompat/projections';
import { SETTINGS } from './database.module';
import { instrumentedOutbox } from './instrumentation';
import { Metrics } from './metrics';
import { kafkaOptionsFrom, prefixedOutbox } from './kafka-wiring';
import { ProcessSignals } from './signals';

/** Publishes the outbox to fleet.placement-decisions.v1 once started (bootstrap starts it when its topic exists). */
@Injectable()
export class RelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Relay');
  readonly relay: OutboxRelay;
  private unwatch?: Promise<() => Promise<void>>;

  constructor(
    @Inject(OUTBOX_STORE) outbox: OutboxStore,
    signals: ProcessSignals,
    @Inject(SETTINGS) settings: Settings,
    metrics: Metrics,
    readonly postgresOutbox: PostgresOutbox,
  ) {
    this.relay = new OutboxRelay({
      kafka: kafkaOptionsFrom(settings, 'relay'),
      outbox: instrumentedOutbox(prefixedOutbox(settings, outbox), metrics),
      batchSize: settings.RELAY_BATCH_SIZE,
      maxBatchSize: settings.RELAY_MAX_BATCH_SIZE,
    });
    signals.onDecisionsQueued(() => this.relay.notify());
  }

  /**
   * Publishes what the outbox holds when called (until that much is out, the outbox is empty,
   * or `timeoutMs` passes: rows that a projector elsewhere keeps adding do not hold it up),
   * then stops: the relay's part of a graceful shutdown, after this process's projector stopped.
   */
  async drainAndStop(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    if (this.relay.isRunning) {
      let target: number | undefined;
      for (;;) {
        let left: number;
        try {
          left = (await this.postgresOutbox.backlog()).count;
        } catch (e) {
          this.log.warn(`outbox backlog unknown (${(e as Error).message}): stopping without flushing`);
          break;
        }
        target ??= this.relay.stats.published + left;
        if (left === 0 || this.relay.stats.published >= target) break;
        if (Date.now() >= until) {
          this.log.warn(
            `outbox flush stopped after ${timeoutMs} ms with ${left} decisions left (published at the next start)`,
          );
          break;
        }
        this.relay.notify();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await this.relay.stop();
    await this.stopWatching();
  }

  /** Starts publishing (idempotent): bootstrap calls it once the decisions topic exists. */
  begin(): void {
    this.relay.start();
  }

  onApplicationBootstrap(): void {
    // Woken by the projector's commits in any process (LISTEN on the outbox channel), not only
    // in this one; the relay polls regardless, so a lost notification costs latency only.
    this.unwatch = this.postgresOutbox
      .watch(() => this.relay.notify())
      .catch((e) => {
        this.log.warn(`outbox LISTEN failed, polling only: ${(e as Error).message}`);
        return async () => undefined;
      });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.stopWatching();
  }

  private async stopWatching(): Promise<void> {
    const unwatch = this.unwatch;
    this.unwatch = undefined;
    if (unwatch) await (await unwatch)().catch(() => undefined);
  }
}

@Module({ providers: [RelayService], exports: [RelayService] })
export class RelayModule {}
