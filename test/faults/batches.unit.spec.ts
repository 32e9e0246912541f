// The fault suite's reading of the projector's batch lines (batches.ts), on made-up output.
import { BatchLog, checkBatchesDoNotOverlap } from './batches';

const line = (f: {
  processor?: string;
  events?: number;
  started: string;
  committing: string;
  committed?: string;
  from: string;
  checkpoint: string;
}) =>
  JSON.stringify({
    level: 'info',
    time: '2026-12-01T23:16:08.250Z',
    role: 'projector',
    msg: `batch committed: ${f.processor ? `processor=${f.processor} ` : ''}events=${f.events ?? 10} decisions=2 started=2026-12-01T23:16:${f.started}Z committing=2026-12-01T23:16:${f.committing}Z committed=2026-12-01T23:16:${f.committed ?? f.committing}Z from=${f.from} checkpoint=${f.checkpoint}`,
  }) + '\n';

function run(lines: [string, string][]) {
  const log = new BatchLog();
  for (const [who, l] of lines) log.feed(who, `${who}/1/stdout`, Buffer.from(l));
  return checkBatchesDoNotOverlap(log, 100);
}

describe('fault suite: projector batch lines', () => {
  it('passes batches one after the other, a batch of no events included, across a lock hand-over', () => {
    const r = run([
      ['p#1', line({ events: 0, started: '01.000', committing: '01.100', from: '0/0', checkpoint: '0/0' })],
      ['p#1', line({ started: '01.200', committing: '01.300', committed: '01.305', from: '0/0', checkpoint: '5/10' })],
      ['p#2', line({ started: '01.303', committing: '01.400', from: '5/10', checkpoint: '7/20' })],
    ]);
    expect(r.failures).toEqual([]);
    expect(r.counts['committed batches logged']).toBe(3);
    expect(r.counts['projector: lock hand-overs (consecutive batches of different processes)']).toBe(1);
  });

  it('checks each shard apart: batches of two shards may overlap, two of one shard may not', () => {
    const r = run([
      [
        'p#1',
        line({ processor: 'projector:0/2', started: '01.000', committing: '01.100', from: '0/0', checkpoint: '5/10' }),
      ],
      [
        'p#2',
        line({ processor: 'projector:1/2', started: '01.050', committing: '01.200', from: '0/0', checkpoint: '5/10' }),
      ],
      [
        'p#3',
        line({ processor: 'projector:1/2', started: '01.300', committing: '01.400', from: '5/10', checkpoint: '6/1' }),
      ],
    ]);
    expect(r.failures).toEqual([]);
    expect(r.counts['shards (processors) that logged batches']).toBe(2);
    const overlap = run([
      [
        'p#1',
        line({ processor: 'projector:1/2', started: '01.000', committing: '01.100', from: '0/0', checkpoint: '5/10' }),
      ],
      [
        'p#2',
        line({ processor: 'projector:1/2', started: '01.050', committing: '01.200', from: '5/10', checkpoint: '6/1' }),
      ],
    ]);
    expect(overlap.failures.join('\n')).toMatch(/projector:1\/2: overlap of 50\.000 ms/);
  });

  it('reads a line split across chunks, and drops a cut last line', () => {
    const log = new BatchLog();
    const l = line({ started: '01.000', committing: '01.100', from: '0/0', checkpoint: '5/10' });
    log.feed('p#1', 'a', Buffer.from(l.slice(0, 40)));
    log.feed('p#1', 'a', Buffer.from(l.slice(40) + l.slice(0, 60)));
    log.closed('a');
    expect(log.batches).toHaveLength(1);
    expect(log.malformed).toEqual([]);
  });

  it('finds an overlap, a checkpoint that goes back, and two batches from one checkpoint', () => {
    const overlap = run([
      ['p#1', line({ started: '01.000', committing: '01.100', from: '0/0', checkpoint: '5/10' })],
      ['p#2', line({ started: '01.050', committing: '01.200', from: '5/10', checkpoint: '6/1' })],
    ]);
    expect(overlap.failures.join('\n')).toMatch(/overlap of 50\.000 ms/);
    const twice = run([
      ['p#1', line({ started: '01.000', committing: '01.100', from: '0/0', checkpoint: '5/10' })],
      ['p#2', line({ started: '01.200', committing: '01.300', from: '0/0', checkpoint: '5/10' })],
    ]);
    expect(twice.failures.join('\n')).toMatch(/two committed batches applied events from checkpoint 0\/0/);
    expect(twice.failures.join('\n')).toMatch(/behind/);
  });

  it('fails when the projector writes no batch line', () => {
    const log = new BatchLog();
    log.line('p#1', '{"msg":"projected 5 events, queued 1 decision; checkpoint 1/2"}');
    const r = checkBatchesDoNotOverlap(log, 5);
    expect(r.failureCount).toBe(1);
    expect(r.failures[0]).toMatch(/no "batch committed:" line/);
  });
});
