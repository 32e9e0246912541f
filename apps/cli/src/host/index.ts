import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Topics } from '@fleetcompat/contract';
import { CliError, CliIo, ExitCode, groupProgram, runGroup } from '../io';
import { HostAgent } from './agent';
import { kafkaConnectionFromEnv } from './kafka-source';
import { runningAgentPid } from './lock';
import { createLog, LogFormat } from './log';
import { checkReadiness, formatVerdict } from './ready';
import { AgentState, readState, StateFileError } from './state';

const HOST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function seconds(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (raw === undefined || !Number.isFinite(v) || v < min || v > max)
    throw new CliError(ExitCode.usage, `--${name} must be a number of seconds from ${min} to ${max} (got ${raw})`);
  return v;
}

function hostIdOf(raw: string | undefined): string {
  if (!raw || !HOST_ID.test(raw))
    throw new CliError(
      ExitCode.usage,
      `--host-id must be 1-128 characters of A-Z a-z 0-9 . _ : - (got ${JSON.stringify(raw ?? '')})`,
    );
  return raw;
}

/** The bearer token: --token, else --token-file (systemd LoadCredential), else FLEETCOMPAT_TOKEN. */
function tokenOf(o: { token?: string; tokenFile?: string }, io: CliIo): string | undefined {
  if (o.token) return o.token;
  if (o.tokenFile) {
    try {
      return readFileSync(o.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new CliError(ExitCode.usage, `--token-file ${o.tokenFile}: ${(e as Error).message}`);
    }
  }
  return io.env.FLEETCOMPAT_TOKEN || undefined;
}

function urlOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CliError(ExitCode.usage, `--url must be an http or https URL (got ${raw})`);
  }
  return raw;
}

const DEFAULT_STATE_DIR = '/var/lib/fleetcompat-host';

/** `fleetcompat host agent|ready|status`: the hosts' side (docs/hosts.md). */
export async function hostGroup(args: string[], io: CliIo): Promise<number> {
  const result: { code: number } = { code: ExitCode.ok };
  const root = groupProgram(
    'host',
    "a host's side: the agent that puts its placements in place, and the pre-reboot gate",
    io,
  );

  root
    .command('agent')
    .description(
      'run the host agent: read the host placements (HTTP long-poll or its Kafka partition), run --apply-command for each new one, acknowledge it',
    )
    .requiredOption('--host-id <id>', 'this host')
    .option('--state-dir <dir>', 'state folder (one agent per folder)', DEFAULT_STATE_DIR)
    .requiredOption(
      '--apply-command <cmd>',
      'run by /bin/sh -c for each new decision or withdrawal, the message as JSON on stdin; must be idempotent',
    )
    .option(
      '--source <source>',
      'http (long-poll GET /v1/hosts/{id}/placements) or kafka (the host partition of the placement topic); default: kafka with --brokers, else http',
    )
    .option('--url <url>', 'base URL of the fleetcompat API (http source; acknowledgements over HTTP)')
    .option(
      '--token <token>',
      'bearer token of role host:<id> (default: --token-file, else FLEETCOMPAT_TOKEN); also signs the acknowledgements sent over Kafka',
    )
    .option('--token-file <file>', 'read the token from this file')
    .option(
      '--brokers <list>',
      'Kafka brokers, host:port,... (default: KAFKA_BROKERS); KAFKA_SSL and KAFKA_SASL_* as for the service',
    )
    .option('--topic-prefix <prefix>', 'prefix of the topic names (default: FLEETCOMPAT_TOPIC_PREFIX)')
    .option(
      '--group-prefix <prefix>',
      'Kafka consumer groups are <prefix>.<pid>-<random>, a fresh one per start, nothing committed to it (default fleetcompat-host-agent.<host-id>)',
    )
    .option(
      '--ack-via <how>',
      'http or kafka: how PlacementApplied is sent (default: http when --url is given, else kafka)',
    )
    .option('--wait <s>', 'long-poll: seconds the API may hold a request (1-60)', '30')
    .option('--apply-timeout <s>', 'seconds a hook run may take before it is killed', '60')
    .option('--retry-initial <s>', 'first retry delay of a failed hook or acknowledgement (doubles each time)', '1')
    .option('--retry-max <s>', 'longest retry delay', '60')
    .option('--log-format <format>', 'json or text (default: text on a terminal, else json)')
    .exitOverride()
    .action(async (o: Record<string, string | undefined>) => {
      const hostId = hostIdOf(o.hostId);
      const url = urlOf(o.url);
      const brokersRaw = o.brokers ?? io.env.KAFKA_BROKERS;
      const mode = (o.source ?? (o.brokers ? 'kafka' : 'http')) as 'http' | 'kafka';
      if (mode !== 'http' && mode !== 'kafka')
        throw new CliError(ExitCode.usage, `--source must be http or kafka (got ${o.source})`);
      const ackVia = (o.ackVia ?? (url ? 'http' : 'kafka')) as 'http' | 'kafka';
      if (ackVia !== 'http' && ackVia !== 'kafka')
        throw new CliError(ExitCode.usage, `--ack-via must be http or kafka (got ${o.ackVia})`);
      if ((mode === 'http' || ackVia === 'http') && !url)
        throw new CliError(
          ExitCode.usage,
          `--url is needed (${mode === 'http' ? 'the http source' : 'acknowledgements over HTTP'})`,
        );
      const brokers = (brokersRaw ?? '')
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
      if ((mode === 'kafka' || ackVia === 'kafka') && !brokers.length)
        throw new CliError(
          ExitCode.usage,
          `--brokers (or KAFKA_BROKERS) is needed (${mode === 'kafka' ? 'the kafka source' : 'acknowledgements over Kafka'})`,
        );
      const token = tokenOf(o, io);
      const format = (o.logFormat ?? (process.stdout.isTTY ? 'text' : 'json')) as LogFormat;
      if (format !== 'json' && format !== 'text')
        throw new CliError(ExitCode.usage, `--log-format must be json or text (got ${o.logFormat})`);
      const prefix = o.topicPrefix ?? io.env.FLEETCOMPAT_TOPIC_PREFIX ?? '';
      const agent = new HostAgent({
        hostId,
        stateDir: path.resolve(o.stateDir!),
        mode,
        url,
        token,
        waitSeconds: seconds('wait', o.wait, 1, 60),
        kafka: brokers.length
          ? {
              connection: kafkaConnectionFromEnv(brokers, `fleetcompat-host-agent-${hostId}`, io.env),
              topic: prefix + Topics.placementDecisions,
              acksTopic: prefix + Topics.placementAcks,
              groupPrefix: o.groupPrefix ?? `fleetcompat-host-agent.${hostId}`,
            }
          : undefined,
        ackVia,
        applyCommand: o.applyCommand!,
        applyTimeoutMs: seconds('apply-timeout', o.applyTimeout, 1, 86400) * 1000,
        retryInitialMs: seconds('retry-initial', o.retryInitial, 0.01, 3600) * 1000,
        retryMaxMs: seconds('retry-max', o.retryMax, 0.01, 86400) * 1000,
        syncCheckMs: 10000,
        log: createLog(format, (l) => io.stdout(l), { hostId }),
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) process.exit(1); // a second signal: at once (the state on disk is consistent anyway)
        agent.stop();
        void signal;
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await agent.run();
      } catch (e) {
        throw new CliError(ExitCode.badInput, (e as Error).message);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      result.code = ExitCode.ok;
      // nothing should be left running; if a client library keeps a handle open, do not hang on it
      setTimeout(() => process.exit(result.code), 3000).unref();
    });

  root
    .command('ready')
    .description(
      'the pre-reboot gate: exit 0 only when every PVH guest of the host has a decision for --target, applied by the agent and acknowledged by the service, none blocked; 1: not ready (per guest why, and the remedy); 2: cannot tell',
    )
    .requiredOption('--host-id <id>', 'this host')
    .requiredOption('--target <version>', 'the Xen version the host is about to boot, e.g. 4.17.3')
    .option('--state-dir <dir>', "the agent's state folder", DEFAULT_STATE_DIR)
    .option('--url <url>', 'base URL of the fleetcompat API (default: FLEETCOMPAT_URL)')
    .option(
      '--token <token>',
      'bearer token of role host:<id> (or planner, admin) (default: --token-file, else FLEETCOMPAT_TOKEN)',
    )
    .option('--token-file <file>', 'read the token from this file')
    .option('--max-age <s>', "the agent's state must have been in sync with its source within this many seconds", '120')
    .option('--timeout <s>', 'seconds per request to the API', '10')
    .option('--json', 'print the verdict as JSON')
    .exitOverride()
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
      const hostId = hostIdOf(s('hostId'));
      const url = urlOf(s('url') ?? io.env.FLEETCOMPAT_URL);
      if (!url) throw new CliError(ExitCode.usage, '--url (or FLEETCOMPAT_URL) is needed');
      const verdict = await checkReadiness({
        hostId,
        target: s('target')!,
        stateDir: path.resolve(s('stateDir')!),
        url,
        token: tokenOf({ token: s('token'), tokenFile: s('tokenFile') }, io),
        maxAgeSeconds: seconds('max-age', s('maxAge'), 1, 86400 * 365),
        timeoutMs: seconds('timeout', s('timeout'), 0.1, 600) * 1000,
      });
      io.stdout(o.json ? JSON.stringify(verdict, null, 2) + '\n' : formatVerdict(verdict));
      result.code = verdict.exitCode;
    });

  root
    .command('status')
    .description(
      "the agent's state: per guest the sequence held, applied, acknowledged, the last error; its source position and last sync",
    )
    .option('--state-dir <dir>', "the agent's state folder", DEFAULT_STATE_DIR)
    .option('--json', 'print the state as JSON')
    .exitOverride()
    .action((o: { stateDir: string; json?: boolean }) => {
      const dir = path.resolve(o.stateDir);
      let state: AgentState | null;
      try {
        state = readState(dir);
      } catch (e) {
        throw new CliError(ExitCode.badInput, e instanceof StateFileError ? e.message : String(e));
      }
      if (!state) throw new CliError(ExitCode.badInput, `no agent state in ${dir}`);
      const pid = runningAgentPid(dir);
      io.stdout(
        o.json ? JSON.stringify({ running: pid !== null, pid, ...state }, null, 2) + '\n' : formatStatus(state, pid),
      );
    });

  return runGroup('host', root, args, io, result);
}

export function formatStatus(s: AgentState, pid: number | null, now = new Date()): string {
  const age = (t: string | null) => (t ? `${Math.round((now.getTime() - Date.parse(t)) / 1000)} s ago` : 'never');
  const guests = Object.entries(s.guests).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const pendingApply = guests.filter(([, g]) => !g.applied).length;
  const pendingAck = guests.filter(([, g]) => g.applied && g.acked === false).length;
  const source =
    s.mode === 'http'
      ? `http ${s.source.http?.url ?? '?'} (etag ${s.source.http?.etag ?? 'none'})`
      : `kafka ${s.source.kafka?.topic ?? '?'} partition ${s.source.kafka?.partition ?? '?'}/${s.source.kafka?.partitions ?? '?'} at offset ${s.source.kafka?.nextOffset ?? 'beginning'}`;
  const lines = [
    `host ${s.hostId}: agent ${pid !== null ? `running (pid ${pid})` : 'not running'}; source ${source}`,
    `last in sync ${age(s.lastSyncAt)}${s.lastError ? `; last error: ${s.lastError}` : ''}`,
    `${guests.length} guest(s): ${pendingApply} waiting for the hook, ${pendingAck} waiting for the acknowledgement; received ${s.counters.received}, repeats dropped ${s.counters.dropped}, applied ${s.counters.applied}, hook failures ${s.counters.hookFailures}, acknowledged ${s.counters.acked}`,
  ];
  if (guests.length) {
    const rows = [['GUEST', 'SEQ', 'MESSAGE', 'FOR', 'RSDP', 'ACTION', 'APPLIED', 'ACKED', 'ERROR']];
    for (const [id, g] of guests) {
      const m = g.message as Record<string, unknown>;
      rows.push([
        id,
        String(g.sequence),
        g.type === 'PlacementDecided' ? 'decided' : 'withdrawn',
        String((m.hypervisorVersion as string | undefined) ?? '-'),
        String((m.rsdp as string | undefined) ?? '-'),
        String((m.action as string | undefined) ?? '-'),
        g.applied ? 'yes' : g.attempts ? `no (${g.attempts} failed)` : 'no',
        g.acked === null ? '-' : g.acked ? 'yes' : 'no',
        g.lastError ?? '',
      ]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows)
      lines.push(
        '  ' +
          r
            .map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c])))
            .join('  ')
            .trimEnd(),
      );
  }
  return lines.join('\n') + '\n';
}
