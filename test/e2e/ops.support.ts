// Helpers of the operability e2e tests (test/e2e/ops*.e2e.spec.ts): Prometheus text parsing,
// a broker of their own (scripts/kafka/start.sh on a free port), events produced by key.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { EventRouting, FleetEvent } from '@fleetcompat/contract';
import { Kafka, Partitioners } from 'kafkajs';
import { KafkaSigner } from '@fleetcompat/auth';
import { ROOT, TEST_ADMIN_TOKEN } from '../support/apps';

/** The sum of the samples of `name` whose labels include `labels` (0 when none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[l[1]] = l[2];
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Every sample of `name`, with its labels. */
export function metricSamples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port p from `from` on with p and p + 1000 free (the broker's controller listens on p + 1000). */
export async function freeBrokerPort(from = 19192): Promise<number> {
  for (let p = from; p < from + 200; p++) if ((await portFree(p)) && (await portFree(p + 1000))) return p;
  throw new Error('no free port pair for a test broker');
}

function script(name: string, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      [path.join(ROOT, 'scripts/kafka', name)],
      {
        env: {
          ...process.env,
          KAFKA_PORT: String(port),
          KAFKA_STOP_TIMEOUT: '30',
          KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
        },
      },
      (err, _out, stderr) => (err ? reject(new Error(`${name} (port ${port}) failed: ${stderr}`)) : resolve()),
    ),
  );
}

/** A broker of the test's own (scripts/kafka/start.sh on `port`), which it may stop and start again. */
export class OwnBroker {
  constructor(readonly port: number) {}
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  start(): Promise<void> {
    return script('start.sh', this.port);
  }
  stop(): Promise<void> {
    return script('stop.sh', this.port);
  }
}

/** Produces events on their contract topics (behind `prefix`), keyed as the contract says, signed with `token` (the apps' FLEETCOMPAT_BOOTSTRAP_TOKEN). */
export async function produceEvents(
  kafka: Kafka,
  prefix: string,
  events: readonly FleetEvent[],
  token: string = TEST_ADMIN_TOKEN,
): Promise<void> {
  const signer = new KafkaSigner(token);
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const e of events) {
      const route = EventRouting[e.type];
      const topic = `${prefix}${route.topic}`;
      const list = byTopic.get(topic) ?? [];
      list.push(signer.sign(topic, { key: route.key(e.data), value: JSON.stringify(e) }));
      byTopic.set(topic, list);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  } finally {
    await producer.disconnect();
  }
}
