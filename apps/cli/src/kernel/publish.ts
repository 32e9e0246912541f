import { KafkaSigner } from '@fleetcompat/auth';
import { Envelope, EventRouting, validateEvent } from '@fleetcompat/contract';
import { KernelInspection } from '@fleetcompat/kernel-notes';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { CliError, ExitCode } from '../io';

export type KernelBuildCompleted = Envelope<'KernelBuildCompleted'>;

export interface PipelineInfo {
  name?: string;
  runId?: string;
  url?: string;
}

/** The eventId of an image's KernelBuildCompleted: the same image always gives the same id. */
export function kernelBuildEventId(sha256: string): string {
  return `kernel-build-completed-${sha256}`;
}

/** Pipeline metadata from the CI's own variables (GitLab CI, GitHub Actions, Jenkins). */
export function pipelineFromEnv(env: Readonly<Record<string, string | undefined>>): {
  pipeline?: PipelineInfo;
  source?: string;
} {
  if (env.GITLAB_CI) {
    return {
      pipeline: { name: env.CI_PROJECT_PATH, runId: env.CI_PIPELINE_ID, url: env.CI_PIPELINE_URL },
      source: `gitlab-ci:${env.CI_PROJECT_PATH ?? 'unknown'}`,
    };
  }
  if (env.GITHUB_ACTIONS) {
    const repo = env.GITHUB_REPOSITORY;
    const url =
      env.GITHUB_SERVER_URL && repo && env.GITHUB_RUN_ID
        ? `${env.GITHUB_SERVER_URL}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    return {
      pipeline: {
        name: [repo, env.GITHUB_WORKFLOW].filter(Boolean).join('/') || undefined,
        runId: env.GITHUB_RUN_ID,
        url,
      },
      source: `github-actions:${repo ?? 'unknown'}`,
    };
  }
  if (env.JENKINS_URL || env.BUILD_URL) {
    return {
      pipeline: { name: env.JOB_NAME, runId: env.BUILD_NUMBER, url: env.BUILD_URL },
      source: `jenkins:${env.JOB_NAME ?? 'unknown'}`,
    };
  }
  return {};
}

export interface EventOptions {
  release?: string;
  arch?: string;
  distro?: string;
  source?: string;
  pipeline?: PipelineInfo;
  now?: Date;
}

/** Builds and validates the KernelBuildCompleted event for an inspected image. */
export function buildKernelBuildCompleted(r: KernelInspection, opts: EventOptions): KernelBuildCompleted {
  const release = opts.release ?? r.release;
  if (!release) {
    throw new CliError(
      ExitCode.badInput,
      r.bootloader
        ? `the image is a ${r.bootloader.name} ${r.bootloader.mode.toUpperCase()} bootloader and carries no release string: pass --release <its version, e.g. grub-2.06-13>`
        : 'the image carries no release string (no "Linux" build-salt note, no bzImage kernel_version): pass --release',
    );
  }
  const pipeline = Object.fromEntries(
    Object.entries(opts.pipeline ?? {}).filter(([, v]) => v !== undefined && v !== ''),
  );
  const event = {
    eventId: kernelBuildEventId(r.sha256),
    type: 'KernelBuildCompleted' as const,
    schemaVersion: 1 as const,
    occurredAt: (opts.now ?? new Date()).toISOString(),
    source: opts.source ?? 'fleetcompat-cli',
    data: {
      imageSha256: r.sha256,
      release,
      arch: opts.arch ?? r.elf.machine,
      ...(opts.distro ? { distro: opts.distro } : {}),
      ...(Object.keys(pipeline).length ? { pipeline } : {}),
      xenNotes: r.xenNotes,
    },
  };
  const v = validateEvent(event);
  if (!v.ok)
    throw new CliError(ExitCode.badInput, `the event would be rejected (${v.rejection.code}): ${v.rejection.message}`);
  return v.event as KernelBuildCompleted;
}

export interface SendResult {
  readonly description: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(ExitCode.publishFailed, `${what}: no answer within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Produces the event to Kafka (acks=all), keyed by the image sha256, signed with `token` (role
 * ci) when given: a service with KAFKA_AUTH=signed (the default) refuses unsigned messages.
 */
export async function sendToKafka(
  event: KernelBuildCompleted,
  brokers: string[],
  topic: string | undefined,
  timeoutMs: number,
  token?: string,
): Promise<SendResult> {
  const route = EventRouting.KernelBuildCompleted;
  const target = topic ?? route.topic;
  const kafka = new Kafka({
    clientId: 'fleetcompat-cli',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(10000, timeoutMs),
    retry: { retries: 3, initialRetryTime: 300 },
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  try {
    await withTimeout(
      (async () => {
        await producer.connect();
        await producer.send({
          topic: target,
          acks: -1,
          messages: [
            new KafkaSigner(token).sign(target, {
              key: route.key(event.data),
              value: JSON.stringify(event),
              headers: { 'content-type': 'application/json', 'event-type': event.type },
            }),
          ],
        });
      })(),
      timeoutMs,
      `Kafka ${brokers.join(',')}`,
    );
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      ExitCode.publishFailed,
      `Kafka ${brokers.join(',')} topic ${target}: ${(e as Error)?.message ?? String(e)}`,
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return {
    description: `Kafka topic ${target} (${brokers.join(',')})${token ? ', signed' : ', unsigned (no --token: refused unless the service runs with KAFKA_AUTH=none)'}`,
  };
}

/** POSTs the event to {url}/v1/events. */
export async function sendToHttp(
  event: KernelBuildCompleted,
  baseUrl: string,
  timeoutMs: number,
  token?: string,
): Promise<SendResult> {
  let url: URL;
  try {
    url = new URL(baseUrl.replace(/\/+$/, '') + '/v1/events');
  } catch {
    throw new CliError(ExitCode.usage, `--url "${baseUrl}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(ExitCode.usage, `--url must be http or https, got ${url.protocol}`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why =
      err.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new CliError(ExitCode.publishFailed, `POST ${url}: ${why}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      const p = JSON.parse(text) as { title?: string; detail?: string };
      detail = [p.title, p.detail].filter(Boolean).join(': ') || detail;
    } catch {
      /* not JSON */
    }
    throw new CliError(ExitCode.publishFailed, `POST ${url}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
  }
  return { description: `POST ${url} (HTTP ${res.status})` };
}
