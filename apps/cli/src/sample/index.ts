import { FleetEvent } from '@fleetcompat/contract';
import { generateFleet, sampleFleet } from '@fleetcompat/sample-fleet';
import { CliError, CliIo, ExitCode, groupProgram, runGroup } from '../io';

const CHUNK = 1000;

async function post(
  url: string,
  events: FleetEvent[],
  token: string | undefined,
): Promise<{ stored: number; duplicates: number }> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(events),
    });
  } catch (e) {
    throw new CliError(ExitCode.publishFailed, `POST ${url}/v1/events: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { detail?: string };
  if (res.status !== 202)
    throw new CliError(ExitCode.publishFailed, `POST ${url}/v1/events: HTTP ${res.status} ${body.detail ?? ''}`);
  return body as { stored: number; duplicates: number };
}

/** `fleetcompat sample load`: posts the bundled sample fleet (or a generated one) to a running service. */
export async function sampleGroup(args: string[], io: CliIo): Promise<number> {
  const result: { code: number } = { code: ExitCode.ok };
  const root = groupProgram('sample', 'load a fleet into a running service over HTTP', io);
  root
    .command('load')
    .description(
      'POST the sample fleet (default) or a generated one to {url}/v1/events; loading twice has no second effect',
    )
    .option('--url <url>', 'base URL of the API', 'http://127.0.0.1:3000')
    .option('--token <token>', 'bearer token of an admin (default: FLEETCOMPAT_TOKEN)')
    .option('--generated', 'a generated fleet instead of the small sample')
    .option('--hosts <n>', 'generated: hosts', '50')
    .option('--guests <n>', 'generated: guests', '2000')
    .option('--kernels <n>', 'generated: kernel builds', '100')
    .option('--waves <n>', 'generated: upgrade waves', '3')
    .option('--seed <n>', 'generated: seed', '1')
    .exitOverride()
    .action(async (o: Record<string, string | boolean>) => {
      const num = (k: string) => {
        const v = Number(o[k]);
        if (!Number.isInteger(v) || v < 0) throw new CliError(ExitCode.usage, `--${k} must be a whole number`);
        return v;
      };
      const events = o.generated
        ? generateFleet({
            hosts: Math.max(1, num('hosts')),
            guests: num('guests'),
            kernels: num('kernels'),
            waves: num('waves'),
            seed: num('seed'),
          })
        : sampleFleet()[Symbol.iterator]();
      let stored = 0;
      let duplicates = 0;
      let batch: FleetEvent[] = [];
      const flush = async () => {
        if (!batch.length) return;
        const r = await post(String(o.url), batch, typeof o.token === 'string' ? o.token : io.env.FLEETCOMPAT_TOKEN);
        stored += r.stored;
        duplicates += r.duplicates;
        batch = [];
      };
      for (const e of events) {
        batch.push(e);
        if (batch.length >= CHUNK) await flush();
      }
      await flush();
      io.stdout(`${stored + duplicates} events sent: ${stored} stored, ${duplicates} already there\n`);
    });
  return runGroup('sample', root, args, io, result);
}
