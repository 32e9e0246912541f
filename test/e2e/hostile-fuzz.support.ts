// The workload of the fuzz run (hostile-fuzz.e2e.spec.ts): a valid fleet on every input
// topic, each event signed by the producer that may write it, and bad messages of one fault
// each (bad JSON, not UTF-8, wrong types, NUL, lone surrogates, extreme times, deep nesting,
// oversized values and fields, wrong topic, forged hosts and signatures, squatted eventIds),
// each keyed by a unique marker and with the dead-letter code its construction calls for.
// Seeded (FUZZ_SEED): the same seed gives the same messages.
import { createHash } from 'node:crypto';
import { IHeaders, Producer } from 'kafkajs';
import { KAFKA_AUTH_HEADER, kafkaSigningKey, signKafkaMessage } from '@fleetcompat/auth';
import { EventRouting, EventType, FleetEvent, InputTopics } from '@fleetcompat/contract';

export const SEED = Number(process.env.FUZZ_SEED ?? 1264);
export const BAD = Number(process.env.FUZZ_BAD ?? 10000);
export const HOSTS = 16;
export const GUESTS_PER_HOST = 50;
const SQUATS = Math.round(BAD * 0.03);

/** mulberry32: a small seeded generator. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  return { next, int, pick, shuffle };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** One message to produce: `topic` is the contract name (the prefix is added when sending). */
export interface Out {
  readonly topic: string;
  readonly key: string;
  readonly value: string | Buffer | null;
  readonly headers?: IHeaders;
}
export interface Valid extends Out {
  readonly event: FleetEvent;
}
export interface Bad extends Out {
  /** The dead-letter code the construction calls for. */
  readonly code: string;
  readonly what: string;
}

type Signer = { token: string; role: string };

/**
 * The valid fleet and the bad messages. Valid: kernel builds (ci), registrations, guests,
 * removals and acknowledgements (each host with its own token), upgrades and operator
 * declarations (admin). Bad: one kind of fault each, keyed by a unique marker (the dead letter
 * keeps the key), signed by a signer that may write the event unless the fault is the signature.
 */
export function workload(
  seed: number,
  prefix: string,
  tokens: { hosts: string[]; ci: string; admin: string; planner: string; revoked: string },
) {
  const r = generator(seed);
  let clock = Date.now() - 3 * 3600_000;
  const at = () => new Date((clock += 7)).toISOString();
  const hosts = Array.from({ length: HOSTS }, (_, i) => `fz-h${String(i).padStart(2, '0')}`);
  const hostToken = (h: string) => tokens.hosts[hosts.indexOf(h)];
  const signerOf = (e: FleetEvent): Signer => {
    if (e.type === 'KernelBuildCompleted' || e.type === 'KernelBuildRevoked') return { token: tokens.ci, role: 'ci' };
    if (['HostRegistered', 'GuestObserved', 'GuestRemoved', 'PlacementApplied'].includes(e.type))
      return { token: hostToken((e.data as { hostId: string }).hostId), role: 'host' };
    return { token: tokens.admin, role: 'admin' };
  };
  const signed = (token: string | null, topic: string, key: string, value: string | Buffer | null): IHeaders =>
    token ? { [KAFKA_AUTH_HEADER]: signKafkaMessage(kafkaSigningKey(token), prefix + topic, key, value) } : {};
  const env = <T extends EventType>(eventId: string, type: T, data: unknown, occurredAt = at()): FleetEvent =>
    ({ eventId, type, schemaVersion: 1, occurredAt, source: `fuzz/${type}`, data }) as FleetEvent;
  const validOut = (e: FleetEvent): Valid => {
    const route = EventRouting[e.type];
    const key = route.key(e.data);
    const value = JSON.stringify(e);
    return { event: e, topic: route.topic, key, value, headers: signed(signerOf(e).token, route.topic, key, value) };
  };

  // --- the valid fleet ------------------------------------------------------------------------
  const valid: Valid[] = [];
  const kernels = Array.from({ length: 10 }, (_, i) => sha(`fz-kernel-${seed}-${i}`));
  kernels.forEach((k, i) =>
    valid.push(
      validOut(
        env(`fz-kernel-${i}`, 'KernelBuildCompleted', {
          imageSha256: k,
          release: `6.${i}.0-fz`,
          arch: 'x86_64',
          xenNotes:
            i === 9
              ? null
              : {
                  guestOs: r.pick(['linux', 'linux', 'FreeBSD', 'NetBSD']),
                  supportedFeatures: r.pick([0x801, 0x8801]),
                  pvh: r.next() < 0.85,
                  phys32Entry: '0x1000000',
                },
        }),
      ),
    ),
  );
  valid.push(validOut(env('fz-kernel-revoked-8', 'KernelBuildRevoked', { imageSha256: kernels[8], reason: 'fuzz' })));
  const version: Record<string, string> = {};
  for (const h of hosts) {
    version[h] = r.pick(['4.10.4', '4.17.3']);
    valid.push(
      validOut(
        env(`fz-reg-${h}`, 'HostRegistered', {
          hostId: h,
          hypervisor: { name: 'xen', version: version[h] },
          rsdpOverrideSupported: r.next() < 0.5,
          labels: { rack: `r${hosts.indexOf(h) % 4}` },
        }),
      ),
    );
  }
  const present = new Map<string, Set<string>>(hosts.map((h) => [h, new Set()]));
  const guests: { hostId: string; guestId: string }[] = [];
  for (const h of hosts) {
    for (let g = 0; g < GUESTS_PER_HOST; g++) {
      const guestId = `${h}.g${String(g).padStart(3, '0')}`;
      const mode = r.pick(['pvh', 'pvh', 'pvh', 'hvm', 'pv'] as const);
      const kernel = mode === 'hvm' ? undefined : r.pick([...kernels, sha('fz-unannounced')]);
      valid.push(
        validOut(
          env(`fz-obs-${guestId}`, 'GuestObserved', {
            guestId,
            hostId: h,
            mode,
            memoryMiB: r.pick([512, 1024, 4096, 16384]),
            boot: { method: r.pick(['direct', 'pvh-grub', 'other']), ...(kernel ? { kernelSha256: kernel } : {}) },
          }),
        ),
      );
      guests.push({ hostId: h, guestId });
      present.get(h)!.add(guestId);
    }
  }
  for (const g of guests) {
    if (r.next() < 0.1) {
      valid.push(validOut(env(`fz-rm-${g.guestId}`, 'GuestRemoved', { guestId: g.guestId, hostId: g.hostId })));
      present.get(g.hostId)!.delete(g.guestId);
      // eslint-disable-next-line no-dupe-else-if -- r.next() draws a new number: not the same condition
    } else if (r.next() < 0.1) {
      valid.push(
        validOut(
          env(`fz-ack-${g.guestId}`, 'PlacementApplied', {
            hostId: g.hostId,
            guestId: g.guestId,
            decisionId: `${g.guestId}#1`,
          }),
        ),
      );
    }
  }
  for (const h of hosts.filter(() => r.next() < 0.6)) {
    const to = r.pick(['4.17.3', '4.11.0', '4.19.1']);
    valid.push(
      validOut(
        env(`fz-plan-${h}`, 'HypervisorUpgradePlanned', {
          hostId: h,
          fromVersion: version[h],
          toVersion: to,
          plannedRebootAt: '2027-01-10T02:00:00Z',
          waveId: 'fz-wave',
        }),
      ),
    );
    const next = r.next();
    if (next < 0.2)
      valid.push(validOut(env(`fz-cancel-${h}`, 'HypervisorUpgradeCancelled', { hostId: h, reason: 'fuzz' })));
    else if (next < 0.4) {
      valid.push(validOut(env(`fz-start-${h}`, 'HypervisorUpgradeStarted', { hostId: h })));
      valid.push(validOut(env(`fz-done-${h}`, 'HypervisorUpgradeCompleted', { hostId: h, version: to })));
    }
  }
  valid.push(
    validOut(
      env('fz-decl-1', 'HypervisorBehaviourDeclared', { version: '4.19.1', behaviour: 'by-notes', note: 'fuzz' }),
    ),
  );
  valid.push(
    validOut(env('fz-decl-2', 'HypervisorBehaviourDeclared', { build: 'fz-build-1', behaviour: 'always-high' })),
  );
  valid.push(validOut(env('fz-os-1', 'GuestOsDeclared', { guestOs: 'NetBSD', copesWithHighRsdp: false })));
  valid.push(validOut(env('fz-os-2', 'GuestOsDeclared', { guestOs: 'Genode', copesWithHighRsdp: true })));

  // --- the bad messages -------------------------------------------------------------------------
  let n = 0;
  /** A fresh event its signer may write, one that would change the fleet if it were taken. */
  const fresh = (i: number): FleetEvent => {
    const g = r.pick(guests);
    switch (r.int(0, 6)) {
      case 0:
        return env(`fz-bad-${i}`, 'GuestObserved', {
          guestId: `${g.hostId}.bad-${i}`,
          hostId: g.hostId,
          mode: 'pvh',
          memoryMiB: 1024,
          boot: { method: 'direct', kernelSha256: kernels[0] },
        });
      case 1:
        return env(`fz-bad-${i}`, 'GuestRemoved', { guestId: g.guestId, hostId: g.hostId });
      case 2:
        return env(`fz-bad-${i}`, 'PlacementApplied', {
          hostId: g.hostId,
          guestId: g.guestId,
          decisionId: `${g.guestId}#99`,
        });
      case 3:
        return env(`fz-bad-${i}`, 'HostRegistered', {
          hostId: g.hostId,
          hypervisor: { name: 'xen', version: '4.1.0' },
          rsdpOverrideSupported: false,
        });
      case 4:
        return env(`fz-bad-${i}`, 'KernelBuildCompleted', {
          imageSha256: sha(`fz-bad-kernel-${i}`),
          release: 'bad',
          arch: 'x86_64',
          xenNotes: null,
        });
      case 5:
        return env(`fz-bad-${i}`, 'HypervisorUpgradeCancelled', { hostId: g.hostId, reason: 'bad' });
      default:
        return env(`fz-bad-${i}`, 'HypervisorBehaviourDeclared', { version: `4.${i % 20}.0`, behaviour: 'always-low' });
    }
  };
  const bad: Bad[] = [];
  const emit = (
    code: string,
    what: string,
    e: FleetEvent | null,
    value: string | Buffer | null,
    opts: { topic?: string; token?: string | null; headers?: IHeaders } = {},
  ) => {
    const marker = `fz-bad-${++n}`;
    const topic = opts.topic ?? (e ? EventRouting[e.type].topic : r.pick(InputTopics));
    const token = opts.token !== undefined ? opts.token : e ? signerOf(e).token : tokens.admin;
    bad.push({ code, what, topic, key: marker, value, headers: opts.headers ?? signed(token, topic, marker, value) });
  };
  const json = (e: unknown) => JSON.stringify(e);
  const withData = (e: FleetEvent, patch: Record<string, unknown>) => ({
    ...e,
    data: { ...(e.data as object), ...patch },
  });
  const nest = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;
  const nestedObject = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
  const otherHost = (h: string) => hosts[(hosts.indexOf(h) + 1 + r.int(0, HOSTS - 2)) % HOSTS];

  const kinds: [number, (i: number) => void][] = [
    // bad JSON
    [
      10,
      (i) => {
        const e = fresh(i);
        const text = json(e);
        const v = r.next() < 0.03 ? 5 : r.int(0, 4);
        if (v === 5)
          emit(
            'invalid-json',
            'a large value of control characters (its letter grows sixfold as JSON)',
            e,
            Buffer.alloc(r.int(100_000, 250_000), 0x01),
          );
        else if (v === 0) emit('invalid-json', 'truncated', e, text.slice(0, r.int(1, text.length - 1)));
        else if (v === 1) emit('invalid-json', 'trailing garbage', e, `${text} x`);
        else if (v === 2) emit('invalid-json', 'a byte order mark', e, `\ufeff${text}`);
        else if (v === 3) emit('invalid-json', 'null value', e, null);
        else
          emit(
            'invalid-json',
            'not UTF-8 inside a string',
            e,
            Buffer.concat([
              Buffer.from(text.slice(0, text.indexOf('"fuzz/') + 2)),
              Buffer.from([0xc3, 0x28, 0xff]),
              Buffer.from(text.slice(text.indexOf('"fuzz/') + 2)),
            ]),
          );
      },
    ],
    // wrong types: envelope and data
    [
      8,
      (i) => {
        const e = fresh(i);
        const variants: [string, unknown][] = [
          ['no eventId', { ...e, eventId: undefined }],
          ['eventId a number', { ...e, eventId: 42 }],
          ['eventId of 129 characters', { ...e, eventId: 'e'.repeat(129) }],
          ['schemaVersion 2', { ...e, schemaVersion: 2 }],
          ['schemaVersion "1"', { ...e, schemaVersion: '1' }],
          ['occurredAt yesterday', { ...e, occurredAt: 'yesterday' }],
          ['occurredAt without offset', { ...e, occurredAt: '2026-11-20T08:00:00' }],
          ['occurredAt a number', { ...e, occurredAt: Date.now() }],
          ['source empty', { ...e, source: '' }],
          ['no data', { ...e, data: undefined }],
          ['type a number', { ...e, type: 42 }],
          ['an array', [e]],
          ['a number', 42],
        ];
        const [what, v] = r.pick(variants);
        emit('invalid-envelope', what, e, json(v));
      },
    ],
    [
      3,
      (i) => {
        const e = fresh(i);
        emit(
          'unknown-type',
          'unknown type',
          e,
          json({ ...e, type: r.pick(['GuestTeleported', 'guestobserved', 'PlacementDecided']) }),
        );
      },
    ],
    [
      10,
      (i) => {
        const g = r.pick(guests);
        const obs = env(`fz-bad-${i}`, 'GuestObserved', {
          guestId: `${g.hostId}.bad-${i}`,
          hostId: g.hostId,
          mode: 'pvh',
          memoryMiB: 1024,
          boot: { method: 'direct' },
        });
        const reg = env(`fz-bad-${i}`, 'HostRegistered', {
          hostId: g.hostId,
          hypervisor: { name: 'xen', version: '4.17.3' },
          rsdpOverrideSupported: true,
        });
        const build = env(`fz-bad-${i}`, 'KernelBuildCompleted', {
          imageSha256: sha(`b${i}`),
          release: 'r',
          arch: 'x86_64',
          xenNotes: null,
        });
        const variants: [string, FleetEvent, unknown][] = [
          ['memoryMiB a string', obs, withData(obs, { memoryMiB: 'lots' })],
          ['memoryMiB negative', obs, withData(obs, { memoryMiB: -1 })],
          ['mode xen', obs, withData(obs, { mode: 'xen' })],
          ['hostId a number', obs, withData(obs, { hostId: 42 })],
          ['guestId empty', obs, withData(obs, { guestId: '' })],
          ['guestId of 300 characters', obs, withData(obs, { guestId: 'g'.repeat(300) })],
          ['kernelSha256 not a sha', obs, withData(obs, { boot: { method: 'direct', kernelSha256: 'not-a-sha' } })],
          [
            '65 labels',
            reg,
            withData(reg, { labels: Object.fromEntries(Array.from({ length: 65 }, (_, k) => [`l${k}`, 'v'])) }),
          ],
          ['a label value of 300 characters', reg, withData(reg, { labels: { rack: 'v'.repeat(300) } })],
          ['hypervisor kvm', reg, withData(reg, { hypervisor: { name: 'kvm', version: '1' } })],
          ['release of 300 characters', build, withData(build, { release: 'r'.repeat(300) })],
          ['imageSha256 upper case', build, withData(build, { imageSha256: sha('x').toUpperCase() })],
        ];
        const [what, base, v] = r.pick(variants);
        emit('invalid-data', what, base, json(v));
      },
    ],
    // strings Postgres cannot take
    [
      8,
      (i) => {
        const e = fresh(i);
        const g = r.pick(guests);
        const obs = env(`fz-bad-${i}`, 'GuestObserved', {
          guestId: `${g.hostId}.bad-${i}`,
          hostId: g.hostId,
          mode: 'pvh',
          memoryMiB: 1024,
          boot: { method: 'direct' },
        });
        const reg = env(`fz-bad-${i}`, 'HostRegistered', {
          hostId: g.hostId,
          hypervisor: { name: 'xen', version: '4.17.3' },
          rsdpOverrideSupported: true,
        });
        const variants: [string, FleetEvent, unknown][] = [
          ['NUL in a guestId', obs, withData(obs, { guestId: `${g.hostId}.bad\u0000${i}` })],
          ['NUL in the source', e, { ...e, source: 'fuzz\u0000' }],
          ['NUL in the eventId', e, { ...e, eventId: `fz-bad-${i}\u0000` }],
          ['NUL in a label key', reg, withData(reg, { labels: { 'ra\u0000ck': 'r1' } })],
          ['a lone high surrogate in a guestId', obs, withData(obs, { guestId: `${g.hostId}.bad\ud83d${i}` })],
          ['a lone low surrogate in the source', e, { ...e, source: 'fuzz\udc00' }],
          ['a lone surrogate in a label key', reg, withData(reg, { labels: { '\ud800': 'r1' } })],
        ];
        const [what, base, v] = r.pick(variants);
        emit('invalid-string', what, base, json(v));
      },
    ],
    // times
    [
      8,
      (i) => {
        const e = fresh(i);
        const plan = env(`fz-bad-${i}`, 'HypervisorUpgradePlanned', {
          hostId: r.pick(hosts),
          fromVersion: '4.10.4',
          toVersion: '4.17.3',
          plannedRebootAt: '2027-01-10T02:00:00Z',
        });
        const variants: [string, FleetEvent, unknown][] = [
          ['occurredAt 9999 at -15:00', e, { ...e, occurredAt: '9999-12-31T23:59:59-15:00' }],
          ['occurredAt at +14:30', e, { ...e, occurredAt: '2026-11-20T08:00:00+14:30' }],
          ['occurredAt in year 0000', e, { ...e, occurredAt: '0000-01-01T00:00:00Z' }],
          ['occurredAt before 2000', e, { ...e, occurredAt: '1999-12-31T23:59:59Z' }],
          ['occurredAt in 2100', e, { ...e, occurredAt: '2100-01-01T00:00:00Z' }],
          ['occurredAt a day ahead', e, { ...e, occurredAt: new Date(Date.now() + 86_400_000).toISOString() }],
          ['plannedRebootAt in 2300', plan, withData(plan, { plannedRebootAt: '2300-01-01T00:00:00Z' })],
          ['plannedRebootAt at -15:00', plan, withData(plan, { plannedRebootAt: '2027-01-10T02:00:00-15:00' })],
        ];
        const [what, base, v] = r.pick(variants);
        emit('invalid-time', what, base, json(v));
      },
    ],
    // deep nesting (checked before JSON.parse)
    [
      6,
      (i) => {
        const e = fresh(i);
        const huge = r.next() < 0.03;
        const depth = huge ? 100_000 : r.int(17, 3000);
        const inner = huge || r.next() < 0.5 ? nest(depth) : nestedObject(depth);
        const text = json({ ...e, data: '__DATA__' }).replace('"__DATA__"', inner);
        emit('too-deep', `${depth} levels`, e, text);
      },
    ],
    // oversized values
    [
      1,
      (i) => {
        const e = fresh(i);
        emit('oversize', 'a value over 256 KiB', e, json({ ...e, source: 'x'.repeat(r.int(256 * 1024, 300 * 1024)) }));
      },
    ],
    // an event on a topic that is not its own, signed for that topic by a signer that may write it
    [
      8,
      (i) => {
        const e =
          r.next() < 0.5
            ? fresh(i)
            : env(`fz-bad-${i}`, 'HypervisorBehaviourDeclared', { version: '4.17.3', behaviour: 'always-low' });
        const own = EventRouting[e.type].topic;
        const topic = r.pick(InputTopics.filter((t) => t !== own));
        emit('wrong-topic', `${e.type} on ${topic}`, e, json(e), { topic });
      },
    ],
    // signed by someone who may not write it
    [
      10,
      (i) => {
        const g = r.pick(guests);
        const other = otherHost(g.hostId);
        const v = r.int(0, 5);
        if (v === 0) {
          const e = env(`fz-bad-${i}`, r.pick(['GuestObserved', 'GuestRemoved'] as const), {
            guestId: g.guestId,
            hostId: g.hostId,
            mode: 'hvm',
            memoryMiB: 1,
            boot: { method: 'direct' },
          });
          emit(
            'forbidden',
            `another host's ${e.type}`,
            e,
            json(e.type === 'GuestRemoved' ? { ...e, data: { guestId: g.guestId, hostId: g.hostId } } : e),
            { token: hostToken(other) },
          );
        } else if (v === 1) {
          const e = env(`fz-bad-${i}`, 'PlacementApplied', {
            hostId: g.hostId,
            guestId: g.guestId,
            decisionId: `${g.guestId}#1`,
          });
          emit('forbidden', "another host's ack", e, json(e), { token: hostToken(other) });
        } else if (v === 2) {
          const e = env(`fz-bad-${i}`, 'HostRegistered', {
            hostId: g.hostId,
            hypervisor: { name: 'xen', version: '4.1.0' },
            rsdpOverrideSupported: false,
          });
          emit('forbidden', r.next() < 0.5 ? "another host's registration" : 'a registration by ci', e, json(e), {
            token: r.next() < 0.5 ? hostToken(other) : tokens.ci,
          });
        } else if (v === 3) {
          const e = env(`fz-bad-${i}`, r.pick(['HypervisorUpgradeCancelled', 'HypervisorUpgradeStarted'] as const), {
            hostId: g.hostId,
          });
          emit('forbidden', `a host's own ${e.type}`, e, json(e), { token: hostToken(g.hostId) });
        } else if (v === 4) {
          const e = env(`fz-bad-${i}`, 'KernelBuildRevoked', { imageSha256: kernels[0], reason: 'not yours' });
          emit('forbidden', 'a kernel revocation by a host', e, json(e), { token: hostToken(g.hostId) });
        } else {
          const e = fresh(i);
          emit('forbidden', 'anything by a planner', e, json(e), { token: tokens.planner });
        }
      },
    ],
    // no valid signature
    [
      10,
      (i) => {
        const e = fresh(i);
        const topic = EventRouting[e.type].topic;
        const value = json(e);
        const { token } = signerOf(e);
        const v = r.int(0, 8);
        const markerNext = `fz-bad-${n + 1}`;
        const header = (h: string | string[]) => ({ headers: { [KAFKA_AUTH_HEADER]: h } });
        const good = signKafkaMessage(kafkaSigningKey(token), prefix + topic, markerNext, value);
        if (v === 0) emit('unauthenticated', 'unsigned', e, value, { token: null });
        else if (v === 1)
          emit(
            'unauthenticated',
            'a signature of another value',
            e,
            value,
            header(
              signKafkaMessage(kafkaSigningKey(token), prefix + topic, markerNext, json({ ...e, source: 'other' })),
            ),
          );
        else if (v === 2)
          emit(
            'unauthenticated',
            'a signature made for another topic',
            e,
            value,
            header(
              signKafkaMessage(
                kafkaSigningKey(token),
                prefix + r.pick(InputTopics.filter((t) => t !== topic)),
                markerNext,
                value,
              ),
            ),
          );
        else if (v === 3)
          emit(
            'unauthenticated',
            'a signature made for another key',
            e,
            value,
            header(signKafkaMessage(kafkaSigningKey(token), prefix + topic, `${markerNext}-x`, value)),
          );
        else if (v === 4) emit('unauthenticated', 'a made-up token', e, value, { token: `fct_made-up-${i}` });
        else if (v === 5) emit('unauthenticated', 'a revoked token', e, value, { token: tokens.revoked });
        else if (v === 6)
          emit(
            'unauthenticated',
            'a malformed header',
            e,
            value,
            header(
              r.pick([
                'v1',
                `v2 ${good.slice(3)}`,
                good.toUpperCase(),
                `Bearer ${token}`,
                good.slice(0, -1),
                `${good} extra`,
              ]),
            ),
          );
        else if (v === 7) emit('unauthenticated', 'two signatures', e, value, header([good, good]));
        else
          emit(
            'unauthenticated',
            'a signature with the wrong key (the token hash of the token, not the secret)',
            e,
            value,
            header(signKafkaMessage(kafkaSigningKey(sha(token)), prefix + topic, markerNext, value)),
          );
      },
    ],
  ];
  const totalWeight = kinds.reduce((s, [w]) => s + w, 0);
  for (let i = 0; i < BAD - SQUATS; i++) {
    let x = r.next() * totalWeight;
    const kind = kinds.find(([w]) => (x -= w) < 0) ?? kinds[kinds.length - 1];
    kind[1](i);
  }

  // squatted ids (sent once the valid fleet is stored): another allowed event under a stored event's id
  const squats: Bad[] = [];
  const base = n;
  for (let i = 0; i < SQUATS; i++) {
    const target = r.pick(valid).event;
    const g = r.pick(guests);
    const e = env(target.eventId, 'GuestObserved', {
      guestId: `${g.hostId}.squat-${i}`,
      hostId: g.hostId,
      mode: 'pv',
      memoryMiB: 256,
      boot: { method: 'other' },
    });
    const before = bad.length;
    emit('conflict', `a GuestObserved squatting ${target.type} ${target.eventId}`, e, json(e));
    squats.push(bad.splice(before, 1)[0]);
  }
  void base;
  // exact repeats of valid messages: duplicates, stored once
  const repeats = Array.from({ length: 150 }, () => r.pick(valid));
  // valid events sent after the squats: decided too
  const late: Valid[] = hosts.map((h, i) =>
    validOut(
      env(`fz-late-${h}`, 'GuestObserved', {
        guestId: `${h}.late`,
        hostId: h,
        mode: 'hvm',
        memoryMiB: 2048 + i,
        boot: { method: 'direct' },
      }),
    ),
  );
  for (const h of hosts) present.get(h)!.add(`${h}.late`);
  return { valid, bad, squats, repeats, late, present, hosts, phase1: r.shuffle<Out>([...valid, ...bad, ...repeats]) };
}

/** Sends messages in order of the list, in requests that stay under the broker's 1 MiB per partition batch. */
export async function sendAll(producer: Producer, prefix: string, messages: readonly Out[]): Promise<void> {
  let batch: Out[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const byTopic = new Map<string, { key: string; value: string | Buffer | null; headers?: IHeaders }[]>();
    for (const m of batch) {
      if (!byTopic.has(m.topic)) byTopic.set(m.topic, []);
      byTopic.get(m.topic)!.push({ key: m.key, value: m.value, headers: m.headers });
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([t, ms]) => ({ topic: prefix + t, messages: ms })),
    });
    batch = [];
    bytes = 0;
  };
  for (const m of messages) {
    const size = m.value === null ? 0 : Buffer.byteLength(m.value);
    if (bytes + size > 600 * 1024) await flush();
    batch.push(m);
    bytes += size;
    if (batch.length >= 500) await flush();
  }
  await flush();
}
