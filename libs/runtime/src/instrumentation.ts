import { Logger } from '@nestjs/common';
import { EventSink, EventTypes, IncomingEvent, OutboxMessage, OutboxStore, StoreOutcome } from '@fleetcompat/contract';
import type { DeadLetterRecord } from '@fleetcompat/kafka';
import { Metrics } from './metrics';

const KNOWN_TYPES = new Set<string>(EventTypes);

function ids(data: unknown): { hostId?: string; guestId?: string } {
  const d = (data ?? {}) as Record<string, unknown>;
  return {
    ...(typeof d.hostId === 'string' ? { hostId: d.hostId } : {}),
    ...(typeof d.guestId === 'string' ? { guestId: d.guestId } : {}),
  };
}

/**
 * The event sink as the transports see it: counts every event by channel, type and outcome
 * (fleetcompat_events_ingested_total) and logs one line per batch at info (one per event at
 * debug, with eventId, hostId and guestId).
 *
 * The Postgres store reports which eventIds a call stored (`storedIds`, returned by
 * `fc_append_events`), so the split per type is exact. A sink that reports only how many:
 * exact when the call stored all, none, or one type only; else the counts are kept under the
 * type `unattributed`.
 */
export class InstrumentedSink implements EventSink {
  private readonly log = new Logger('Ingest');

  constructor(
    private readonly inner: EventSink,
    private readonly metrics: Metrics,
    /** Log each event at debug (LOG_LEVEL debug or verbose). */
    private readonly perEventDebug = false,
  ) {}

  async store(events: readonly IncomingEvent[]): Promise<StoreOutcome> {
    const started = Date.now();
    const outcome = await this.inner.store(events);
    if (!events.length) return outcome;
    const channel = events[0].origin.channel;
    this.metrics.ingestBatches.inc({ channel });

    // Repeats within the call are duplicates of the first occurrence.
    const unique = new Map<string, IncomingEvent>();
    const perType = new Map<string, { stored: number; duplicate: number }>();
    const count = (type: string, outcomeName: 'stored' | 'duplicate', n = 1) => {
      const c = perType.get(type) ?? { stored: 0, duplicate: 0 };
      c[outcomeName] += n;
      perType.set(type, c);
    };
    for (const e of events) {
      if (unique.has(e.event.eventId)) count(e.event.type, 'duplicate');
      else unique.set(e.event.eventId, e);
    }
    const storeDuplicates = outcome.duplicates - (events.length - unique.size);
    const types = new Set([...unique.values()].map((e) => e.event.type));
    const storedIds = outcome.storedIds ? new Set(outcome.storedIds) : undefined;
    if (storedIds || outcome.stored === 0 || storeDuplicates <= 0 || types.size === 1) {
      const allStored = storeDuplicates <= 0;
      let storedLeft = outcome.stored;
      for (const e of unique.values()) {
        const isNew = storedIds ? storedIds.has(e.event.eventId) : allStored || (types.size === 1 && storedLeft-- > 0);
        count(e.event.type, isNew ? 'stored' : 'duplicate');
      }
    } else {
      // Could not tell which were new: the counts stay right, the type is unattributed.
      count('unattributed', 'stored', outcome.stored);
      count('unattributed', 'duplicate', storeDuplicates);
    }
    for (const [type, c] of perType) {
      if (c.stored) this.metrics.eventsIngested.inc({ channel, type, outcome: 'stored' }, c.stored);
      if (c.duplicate) this.metrics.eventsIngested.inc({ channel, type, outcome: 'duplicate' }, c.duplicate);
    }

    const first = events[0].origin;
    const last = events[events.length - 1].origin;
    const from =
      first.topic !== undefined
        ? `${first.topic}[${first.partition}] offsets ${first.offset}..${last.offset}`
        : channel;
    const byType = [...perType].map(([t, c]) => `${t} ${c.stored + c.duplicate}`).join(', ');
    const single =
      events.length === 1
        ? { eventId: events[0].event.eventId, type: events[0].event.type, ...ids(events[0].event.data) }
        : {};
    this.log.log({
      msg: `stored ${events.length} event${events.length === 1 ? '' : 's'} from ${from}: ${outcome.stored} new, ${outcome.duplicates} duplicate (${byType}) in ${Date.now() - started} ms`,
      channel,
      ...(first.topic !== undefined
        ? { topic: first.topic, partition: first.partition, fromOffset: first.offset, toOffset: last.offset }
        : {}),
      events: events.length,
      stored: outcome.stored,
      duplicates: outcome.duplicates,
      ...single,
    });
    if (events.length > 1 && this.perEventDebug) {
      for (const e of events) {
        this.log.debug({
          msg: `event ${e.event.eventId} ${e.event.type}`,
          eventId: e.event.eventId,
          type: e.event.type,
          ...ids(e.event.data),
          channel,
        });
      }
    }
    return outcome;
  }
}

/** The type of a dead-lettered message, when its value names a known event type; else `invalid`. */
export function deadLetterType(record: DeadLetterRecord): string {
  const value = record.letter.value;
  if (value === null || record.letter.valueEncoding === 'base64') return 'invalid';
  const m = /"type"\s*:\s*"([A-Za-z]+)"/.exec(value.slice(0, 4096));
  return m && KNOWN_TYPES.has(m[1]) ? m[1] : 'invalid';
}

/** Counts the dead letters of a chunk (fleetcompat_events_ingested_total, outcome dead-lettered). */
export function countDeadLetters(metrics: Metrics, records: readonly DeadLetterRecord[]): void {
  for (const r of records)
    metrics.eventsIngested.inc({ channel: 'kafka', type: deadLetterType(r), outcome: 'dead-lettered' });
}

/** The action of a published placement message: its `action`, or `withdrawn`. */
export function decisionAction(message: OutboxMessage): string {
  // read off the JSON text (the relay publishes it as stored, without parsing it)
  if (/"type"\s*:\s*"PlacementWithdrawn"/.test(message.value)) return 'withdrawn';
  const m = /"action"\s*:\s*"([a-z-]+)"/.exec(message.value);
  return m ? m[1] : 'unknown';
}

/** The outbox as the relay sees it, counting what the broker acknowledged and logging one line per batch. */
export function instrumentedOutbox(outbox: OutboxStore, metrics: Metrics): OutboxStore {
  const log = new Logger('Relay');
  // Everything else of the outbox (e.g. its change notifications) is the outbox's own.
  const wrapped = Object.create(outbox) as OutboxStore;
  wrapped.publishBatch = (limit, publish) =>
    outbox.publishBatch(limit, async (messages) => {
      const started = Date.now();
      await publish(messages);
      const byAction = new Map<string, number>();
      for (const m of messages) {
        const action = decisionAction(m);
        byAction.set(action, (byAction.get(action) ?? 0) + 1);
      }
      for (const [action, n] of byAction) metrics.decisionsPublished.inc({ action }, n);
      const summary = [...byAction].map(([a, n]) => `${a} ${n}`).join(', ');
      log.log({
        msg: `published ${messages.length} decision${messages.length === 1 ? '' : 's'} (${summary}) in ${Date.now() - started} ms`,
        published: messages.length,
        outboxIds: `${messages[0]?.id}..${messages[messages.length - 1]?.id}`,
        ...(messages.length === 1 ? { hostId: messages[0].key } : {}),
      });
    });
  return wrapped;
}
