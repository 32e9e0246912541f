import { FleetEvent, IncomingEvent, OutboxMessage } from '@fleetcompat/contract';
import { DeadLetterRecord } from '@fleetcompat/kafka';
import { decisionAction, deadLetterType, InstrumentedSink, instrumentedOutbox } from './instrumentation';
import { Metrics } from './metrics';
import { ProjectorWatch } from './projector-watch';
import { bounded, GracefulShutdown } from './shutdown';

function event(eventId: string, type: string, data: Record<string, unknown> = { hostId: 'h1' }): IncomingEvent {
  return {
    event: { eventId, type, data } as unknown as FleetEvent,
    origin: { channel: 'kafka', topic: 't', partition: 0, offset: eventId },
  };
}

async function value(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  return m.values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((a, v) => a + v.value, 0);
}

describe('InstrumentedSink: events ingested by type and outcome', () => {
  const ingested = 'fleetcompat_events_ingested_total';

  it('counts a batch stored whole, and its repeat as duplicates, per type', async () => {
    const metrics = new Metrics('test');
    const seen = new Set<string>();
    const sink = new InstrumentedSink(
      {
        store: async (events) => {
          let stored = 0;
          for (const e of events) {
            if (seen.has(e.event.eventId)) continue;
            seen.add(e.event.eventId);
            stored++;
          }
          return { stored, duplicates: events.length - stored };
        },
      },
      metrics,
    );
    const batch = [
      event('a', 'HostRegistered'),
      event('b', 'GuestObserved'),
      event('c', 'GuestObserved'),
      event('c', 'GuestObserved'),
    ];
    expect(await sink.store(batch)).toEqual({ stored: 3, duplicates: 1 });
    expect(await value(metrics, ingested, { type: 'GuestObserved', outcome: 'stored' })).toBe(2);
    expect(await value(metrics, ingested, { type: 'GuestObserved', outcome: 'duplicate' })).toBe(1);
    expect(await value(metrics, ingested, { type: 'HostRegistered', outcome: 'stored' })).toBe(1);
    await sink.store(batch);
    expect(await value(metrics, ingested, { type: 'GuestObserved', outcome: 'duplicate' })).toBe(4);
    expect(await value(metrics, ingested, { type: 'HostRegistered', outcome: 'duplicate' })).toBe(1);
    expect(await value(metrics, ingested, { outcome: 'stored' })).toBe(3);
    expect(await value(metrics, 'fleetcompat_ingest_batches_total', { channel: 'kafka' })).toBe(2);
  });

  it('splits a partly new batch of several types by the eventIds the store reports stored', async () => {
    const metrics = new Metrics('test');
    const sink = new InstrumentedSink(
      { store: async () => ({ stored: 1, duplicates: 1, storedIds: ['new'] }) },
      metrics,
    );
    await sink.store([event('old', 'HostRegistered'), event('new', 'GuestObserved')]);
    expect(await value(metrics, ingested, { type: 'GuestObserved', outcome: 'stored' })).toBe(1);
    expect(await value(metrics, ingested, { type: 'HostRegistered', outcome: 'duplicate' })).toBe(1);
  });

  it('keeps the totals right when it cannot tell which were new', async () => {
    const metrics = new Metrics('test');
    const sink = new InstrumentedSink({ store: async () => ({ stored: 1, duplicates: 1 }) }, metrics);
    await sink.store([event('x', 'HostRegistered'), event('y', 'GuestObserved')]);
    expect(await value(metrics, ingested, { type: 'unattributed', outcome: 'stored' })).toBe(1);
    expect(await value(metrics, ingested, { type: 'unattributed', outcome: 'duplicate' })).toBe(1);
  });

  it('names the type of a dead letter when its value names a known one', () => {
    const letter = (value: string | null, valueEncoding: 'utf8' | 'base64' = 'utf8') =>
      ({ letter: { value, valueEncoding } }) as unknown as DeadLetterRecord;
    expect(deadLetterType(letter('{"eventId":"e","type":"GuestObserved","data":{"mode":"xen"}}'))).toBe(
      'GuestObserved',
    );
    expect(deadLetterType(letter('{"type":"GuestTeleported"}'))).toBe('invalid');
    expect(deadLetterType(letter('not json'))).toBe('invalid');
    expect(deadLetterType(letter(null))).toBe('invalid');
    expect(deadLetterType(letter('eyJ0eXBlIjoiR3Vlc3RPYnNlcnZlZCJ9', 'base64'))).toBe('invalid');
  });
});

describe('instrumented outbox: decisions published by action', () => {
  const msg = (id: string, value: object): OutboxMessage => ({
    id,
    topic: 'd',
    key: 'h1',
    value: JSON.stringify(value),
  });

  it('counts what the broker acknowledged, by action, and nothing when the publish fails', async () => {
    const metrics = new Metrics('test');
    const messages = [
      msg('1', { type: 'PlacementDecided', action: 'blocked' }),
      msg('2', { type: 'PlacementDecided', action: 'none' }),
      msg('3', { type: 'PlacementWithdrawn' }),
    ];
    const outbox = instrumentedOutbox(
      { publishBatch: async (_limit, publish) => (await publish(messages), messages.length) },
      metrics,
    );
    await outbox.publishBatch(10, async () => undefined);
    await expect(outbox.publishBatch(10, async () => Promise.reject(new Error('broker down')))).rejects.toThrow(
      'broker down',
    );
    const name = 'fleetcompat_decisions_published_total';
    expect(await value(metrics, name, { action: 'blocked' })).toBe(1);
    expect(await value(metrics, name, { action: 'none' })).toBe(1);
    expect(await value(metrics, name, { action: 'withdrawn' })).toBe(1);
    expect(decisionAction(msg('4', { type: 'PlacementDecided', action: 'override-low' }))).toBe('override-low');
  });

  it('keeps the rest of the outbox (e.g. its change notifications) as it is', () => {
    const inner = { publishBatch: async () => 0, watch: () => 'watching' };
    const wrapped = instrumentedOutbox(inner, new Metrics('test')) as unknown as typeof inner;
    expect(wrapped.watch()).toBe('watching');
    expect(wrapped.publishBatch).not.toBe(inner.publishBatch);
  });
});

describe('Metrics', () => {
  it('exposes fleetcompat_ names, process memory, and survives a failing collector', async () => {
    const metrics = new Metrics('test');
    const gauge = metrics.gauge('thing', 'a thing');
    metrics.onScrape('ok', async () => gauge.set(7));
    metrics.onScrape('broken', async () => Promise.reject(new Error('db down')));
    metrics.onScrape('slow', () => new Promise(() => undefined));
    const text = await metrics.scrape(100);
    expect(text).toMatch(/^fleetcompat_thing\{role="test"\} 7$/m);
    expect(text).toMatch(/^fleetcompat_process_resident_memory_bytes\{role="test"\} \d+/m);
    expect(text).toMatch(/^fleetcompat_metrics_collect_errors_total\{collector="broken",role="test"\} 1$/m);
    expect(text).toMatch(/^fleetcompat_metrics_collect_errors_total\{collector="slow",role="test"\} 1$/m);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line.startsWith('fleetcompat_')).toBe(true);
  });
});

describe('ProjectorWatch: stalled when events wait and the checkpoint does not move', () => {
  it('flips to stalled after the threshold, and back when the checkpoint moves or the work is done', async () => {
    let now = 0;
    let position = { checkpoint: { transactionId: '1', globalPosition: '1' }, behind: 5 };
    const watch = new ProjectorWatch({ position: async () => position }, 60, () => now);
    expect((await watch.sample()).stalled).toBe(false);
    now = 59_000;
    expect((await watch.sample()).stalled).toBe(false);
    now = 61_000;
    expect(await watch.sample()).toMatchObject({ stalled: true, behind: 5, stalledForSeconds: 61 });
    position = { checkpoint: { transactionId: '2', globalPosition: '9' }, behind: 5 };
    expect((await watch.sample()).stalled).toBe(false);
    now = 200_000;
    position = { ...position, behind: 0 };
    expect((await watch.sample()).stalled).toBe(false); // nothing to do: an idle projector is not stalled
  });
});

describe('GracefulShutdown', () => {
  it('runs the steps in order and exits 0', async () => {
    const done: string[] = [];
    const codes: number[] = [];
    const shutdown = new GracefulShutdown(
      ['ingest', 'projector', 'relay'].map((name) => ({ name, run: async () => void done.push(name) })),
      { timeoutMs: 1000, exit: (c) => codes.push(c) },
    );
    await shutdown.shutdown('test');
    await shutdown.shutdown('again');
    expect(done).toEqual(['ingest', 'projector', 'relay']);
    expect(codes).toEqual([0]);
  });

  it('exits 1 when a step fails, after running the others', async () => {
    const done: string[] = [];
    const codes: number[] = [];
    const shutdown = new GracefulShutdown(
      [
        { name: 'a', run: async () => Promise.reject(new Error('boom')) },
        { name: 'b', run: async () => void done.push('b') },
      ],
      { timeoutMs: 1000, exit: (c) => codes.push(c) },
    );
    await shutdown.shutdown('test');
    expect(done).toEqual(['b']);
    expect(codes).toEqual([1]);
  });

  it('exits 1 when the steps outlast the timeout', async () => {
    const codes: number[] = [];
    let release!: () => void;
    const shutdown = new GracefulShutdown([{ name: 'stuck', run: () => new Promise<void>((r) => (release = r)) }], {
      timeoutMs: 50,
      exit: (c) => codes.push(c),
    });
    const running = shutdown.shutdown('test');
    await new Promise((r) => setTimeout(r, 120));
    expect(codes).toEqual([1]);
    release();
    await running;
    expect(codes).toEqual([1]);
  });

  it('bounded() goes on after its time when a step may be abandoned', async () => {
    let finished = false;
    await bounded(new Promise<void>(() => undefined), 30, 'stuck');
    await bounded(new Promise<void>((r) => setTimeout(() => ((finished = true), r()), 5)), 1000, 'never');
    expect(finished).toBe(true);
  });
});
