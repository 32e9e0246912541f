import { DEFAULT_FLEET, FleetSize } from '@fleetcompat/sample-fleet';

export interface BenchOptions {
  readonly fleet: FleetSize;
  /** Repetitions of each point (median and spread over them). */
  readonly runs: number;
  /** Projector processes of the pipeline, one per shard (PROJECTOR_SHARDS); 1: one projector as before shards. */
  readonly projectorShards: number;
  /** Hosts of 200 guests whose upgrade is timed (decision latency). */
  readonly latencyHosts: number;
  readonly guestsPerLatencyHost: number;
  /** Latency samples (each one host's upgrade planned or cancelled, round after round over the hosts). */
  readonly latencySamples: number;
  /** Background events per second sent to the input topics during the latency and query points. */
  readonly trickle: number;
  /** Events appended per contender and run (event store append). */
  readonly appendEvents: number;
  readonly appendBatch: number;
  /** Seconds of load per query point. */
  readonly queryDuration: number;
  readonly queryConnections: number;
  /** Simulated host agents long-polling the API (and, as the baseline, polling). */
  readonly hostAgents: number;
  /** Seconds of each idle CPU window of the host agents point. */
  readonly hostIdleSeconds: number;
  /** The long-poll's wait, and the baseline's polling interval (s). */
  readonly hostWaitSeconds: number;
  readonly hostPollSeconds: number;
  /** Sections to run (all by default). */
  readonly only: readonly Section[];
  /** Where the report goes. */
  readonly outDir: string;
  readonly label: string;
  /** A previous report (JSON) whose medians are shown as "before". */
  readonly before?: string;
  readonly quick: boolean;
}

export const SECTIONS = ['ingest', 'append', 'latency', 'rebuild', 'queries', 'hosts'] as const;
export type Section = (typeof SECTIONS)[number];

const USAGE = `npm run bench -- [options]
  --quick                 a small smoke run (40 hosts, 2,000 guests, 2 runs)
  --hosts N --guests N --kernels N --waves N --seed N   fleet size (default 5000/250000/2000/10)
  --runs N                repetitions of each point (default 3)
  --projector-shards N    projector processes of the pipeline, one per shard (PROJECTOR_SHARDS; default 1)
  --latency-hosts N       hosts of 200 guests whose upgrade is timed (default 40)
  --latency-samples N     latency samples, round after round over those hosts (default 400)
  --trickle N             background events/s during the latency and query points (default 100)
  --append-events N       events per contender and run in the append point (default 50000)
  --query-seconds N       seconds of load per query point (default 10)
  --host-agents N         simulated host agents long-polling the API (default 1000)
  --host-idle-seconds N   seconds of each idle CPU window of the host agents point (default 40; quick 8)
  --only a,b              sections: ${SECTIONS.join(',')}
  --out DIR               report directory (default bench/results)
  --label NAME            report file name (default: date and size)
  --before FILE.json      show the medians of an earlier report beside this one
Environment: BENCH_HOSTS, BENCH_GUESTS, BENCH_KERNELS, BENCH_WAVES, BENCH_RUNS, KAFKA_BROKERS,
BENCH_DATABASE_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).`;

const KNOWN = new Set([
  'quick',
  'hosts',
  'guests',
  'kernels',
  'waves',
  'seed',
  'runs',
  'projector-shards',
  'latency-hosts',
  'latency-samples',
  'trickle',
  'append-events',
  'query-seconds',
  'host-agents',
  'host-idle-seconds',
  'only',
  'out',
  'label',
  'before',
]);

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv, root: string): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (!KNOWN.has(k)) throw new Error(`unknown option --${k}\n${USAGE}`);
    if (k === 'quick') flags.set(k, 'true');
    else if (inline !== undefined) flags.set(k, inline);
    else if (i + 1 < argv.length) flags.set(k, argv[++i]);
    else throw new Error(`--${k} needs a value`);
  }
  const quick = flags.get('quick') === 'true';
  const num = (flag: string, envName: string, dflt: number, min = 0, max = 10_000_000): number => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${flag} must be a whole number from ${min} to ${max} (got ${raw})`);
    return n;
  };
  const base = quick ? { hosts: 40, guests: 2000, kernels: 60, waves: 2 } : DEFAULT_FLEET;
  const fleet: FleetSize = {
    hosts: num('hosts', 'BENCH_HOSTS', base.hosts, 1),
    guests: num('guests', 'BENCH_GUESTS', base.guests, 0, 1_000_000),
    kernels: num('kernels', 'BENCH_KERNELS', base.kernels, 0),
    waves: num('waves', 'BENCH_WAVES', base.waves, 0),
    seed: num('seed', 'BENCH_SEED', 1),
    prefix: 'bench',
  };
  const only = (flags.get('only') ?? SECTIONS.join(',')).split(',').map((s) => s.trim()) as Section[];
  for (const s of only)
    if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (sections: ${SECTIONS.join(', ')})`);
  if (num('projector-shards', 'BENCH_PROJECTOR_SHARDS', 1, 1, 64) > 1 && only.includes('hosts'))
    throw new Error('--projector-shards: the hosts point runs one projector of its own; leave it out (--only)');
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:]/g, '').replace('T', '-');
  return {
    fleet,
    runs: num('runs', 'BENCH_RUNS', quick ? 2 : 3, 1, 20),
    projectorShards: num('projector-shards', 'BENCH_PROJECTOR_SHARDS', 1, 1, 64),
    latencyHosts: num('latency-hosts', 'BENCH_LATENCY_HOSTS', quick ? 4 : 40, 1, 1000),
    guestsPerLatencyHost: 200,
    latencySamples: num('latency-samples', 'BENCH_LATENCY_SAMPLES', quick ? 8 : 400, 1, 100000),
    trickle: num('trickle', 'BENCH_TRICKLE', quick ? 20 : 100, 0, 100000),
    appendEvents: num('append-events', 'BENCH_APPEND_EVENTS', quick ? 3000 : 50000, 1),
    appendBatch: 500,
    queryDuration: num('query-seconds', 'BENCH_QUERY_SECONDS', quick ? 2 : 10, 1, 600),
    queryConnections: 10,
    hostAgents: num('host-agents', 'BENCH_HOST_AGENTS', 1000, 1, 20000),
    hostIdleSeconds: num('host-idle-seconds', 'BENCH_HOST_IDLE_SECONDS', quick ? 8 : 40, 1, 3600),
    hostWaitSeconds: quick ? 5 : 30,
    hostPollSeconds: 5,
    only,
    outDir: flags.get('out') ?? `${root}/bench/results`,
    label: flags.get('label') ?? `${stamp}-${quick ? 'quick' : `${fleet.guests}-guests`}`,
    before: flags.get('before'),
    quick,
  };
}
