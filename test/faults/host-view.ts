// Checks of what a user sees against what the workload generated: the messages on the
// placement topic, GET /v1/hosts/{id}/placements, and the facts rebuilt from the workload's
// own record (expected.ts). Nothing here reads the projection tables.
import { decidePlacement, PlacementDecision, PlacementInput } from '@fleetcompat/policy';
import { prng } from '@fleetcompat/sample-fleet';
import { ExpectedFacts, ExpectedGuest } from './expected';
import { canonical, Check, InvariantResult } from './invariants';
import { Read } from './kafka-io';
import { DECLARED_BUILD, Workload } from './workload';

const pairKey = (guestId: string, hostId: string) => `${guestId}\u0000${hostId}`;
const showPair = (k: string) => k.replace('\u0000', ' on ');

/** The placement topic as hosts read it: per (guest, host) the message with the highest sequence. */
export interface TopicView {
  readonly last: Map<string, { sequence: number; value: any; partition: number; offset: number }>;
  readonly messages: number;
  readonly unreadable: string[];
}

export function topicView(decisions: Read[]): TopicView {
  const last = new Map<string, { sequence: number; value: any; partition: number; offset: number }>();
  const unreadable: string[] = [];
  for (const m of decisions) {
    let v: any;
    try {
      v = JSON.parse(m.value!.toString('utf8'));
    } catch {
      unreadable.push(`${m.partition}/${m.offset}`);
      continue;
    }
    const k = pairKey(v.guestId, v.hostId);
    const l = last.get(k);
    if (!l || v.sequence > l.sequence)
      last.set(k, { sequence: v.sequence, value: v, partition: m.partition, offset: m.offset });
  }
  return { last, messages: decisions.length, unreadable };
}

/** What GET /v1/hosts/{id}/placements answered for one host (after the drain). */
export interface PlacementsAnswer {
  readonly status: number;
  readonly body: any;
}

function listed(answer: PlacementsAnswer | undefined): Map<string, any> | null {
  if (!answer || answer.status !== 200 || !Array.isArray(answer.body?.placements)) return null;
  return new Map(answer.body.placements.map((p: any) => [p.guestId, p]));
}

/**
 * 1. Every present guest on a registered host (from the workload's record, by the fact rule)
 * has a current decision: GET /v1/hosts/{id}/placements lists it with a decision, the last
 * message on the topic for that guest and host (by sequence) is a PlacementDecided, and the
 * two are the same JSON. And the converse: nothing in effect for a guest the host does not
 * have (or on a host that never registered).
 */
export function checkCurrentDecisions(
  x: ExpectedFacts,
  topic: TopicView,
  placements: Map<string, PlacementsAnswer>,
): InvariantResult[] {
  const c = new Check(
    'what hosts see: every present guest on a registered host has a current decision',
    "per (guest, host) present by the fact rule on the workload's own events, with a HostRegistered for the host: GET /v1/hosts/{id}/placements lists the guest with a decision, the last message for guest and host on the topic (highest sequence) is a PlacementDecided, and both are the same JSON",
  );
  const conv = new Check(
    'what hosts see: no decision in effect for a guest the host does not have',
    'per (guest, host) whose last message on the topic is a PlacementDecided, the guest is present there by the fact rule and the host registered; every guest GET /v1/hosts/{id}/placements lists is present on that host, with a decision only when the host registered',
  );
  for (const u of topic.unreadable) c.fail(`message ${u} on the placement topic is not JSON`);

  const hostsFailed = new Set<string>();
  const twoHosts = new Map<string, number>();
  for (const g of x.presentOnRegistered()) {
    c.count('(guest, host) pairs present on a registered host');
    twoHosts.set(g.guestId, (twoHosts.get(g.guestId) ?? 0) + 1);
    const answer = placements.get(g.hostId);
    const list = listed(answer);
    if (!list) {
      if (!hostsFailed.has(g.hostId))
        c.fail(
          `${g.hostId}: GET /v1/hosts/${g.hostId}/placements answered ${answer?.status ?? 'nothing'}: ${JSON.stringify(answer?.body ?? null).slice(0, 200)}`,
        );
      hostsFailed.add(g.hostId);
      continue;
    }
    const entry = list.get(g.guestId);
    const last = topic.last.get(pairKey(g.guestId, g.hostId));
    if (!entry) c.fail(`${g.guestId} on ${g.hostId}: present, but GET placements does not list it`);
    else if (!entry.decision)
      c.fail(`${g.guestId} on ${g.hostId}: GET placements lists it without a decision (status ${entry.status})`);
    if (!last) c.fail(`${g.guestId} on ${g.hostId}: present, but no message on the topic for it on that host`);
    else if (last.value.type !== 'PlacementDecided')
      c.fail(
        `${g.guestId} on ${g.hostId}: present, but its last message on the topic (#${last.sequence}, ${last.partition}/${last.offset}) is a ${last.value.type}`,
      );
    if (entry?.decision && last?.value.type === 'PlacementDecided') {
      // JSON.stringify first (the API and the relay send the same stored text): canonical only when that differs.
      if (
        JSON.stringify(entry.decision) !== JSON.stringify(last.value) &&
        canonical(entry.decision) !== canonical(last.value)
      ) {
        c.fail(
          `${g.guestId} on ${g.hostId}: GET placements has decision ${entry.decision.decisionId} #${entry.decision.sequence} ${canonical(entry.decision).slice(0, 300)}, the topic's last is ${last.value.decisionId} #${last.sequence} ${canonical(last.value).slice(0, 300)}`,
        );
      } else c.count('pairs whose HTTP decision is the last PlacementDecided on the topic');
    }
  }
  c.count('hosts whose GET placements failed', hostsFailed.size);
  c.count('guests present on two or more hosts (each decided)', [...twoHosts.values()].filter((n) => n > 1).length);
  if ((c.counts['(guest, host) pairs present on a registered host'] ?? 0) === 0)
    c.fail('the workload has no present guest on a registered host: nothing was checked');

  for (const [k, last] of topic.last) {
    const g = x.guests.get(k);
    const h = x.hosts.get(last.value.hostId);
    if (last.value.type === 'PlacementDecided') {
      if (!g?.present)
        conv.fail(
          `${showPair(k)}: last message on the topic is PlacementDecided #${last.sequence}, but the host ${g ? 'removed the guest' : 'never reported the guest'} (no withdrawal after it)`,
        );
      else if (!h?.registered)
        conv.fail(`${showPair(k)}: PlacementDecided #${last.sequence} for a host that never registered`);
      else conv.count('pairs decided last on the topic, present');
    } else if (last.value.type === 'PlacementWithdrawn') {
      if (g?.present && h?.registered) conv.count('withdrawn last while present (reported by check 1)');
      else conv.count('pairs withdrawn last, not present');
    } else conv.fail(`${showPair(k)}: last message has type ${last.value.type}`);
  }
  for (const [hostId, answer] of placements) {
    const list = listed(answer);
    const h = x.hosts.get(hostId);
    if (!list) {
      if (h?.registered) continue; // reported by check 1 when it has present guests
      conv.count(`hosts never registered: GET placements answered ${answer.status}`);
      continue;
    }
    for (const [guestId, p] of list) {
      const g = x.guests.get(pairKey(guestId, hostId));
      if (!g?.present)
        conv.fail(
          `GET /v1/hosts/${hostId}/placements lists ${guestId}, which the host ${g ? 'removed' : 'never reported'}${p.decision ? ` (with decision ${p.decision.decisionId})` : ''}`,
        );
      else if (!h?.registered && p.decision)
        conv.fail(
          `GET /v1/hosts/${hostId}/placements: ${guestId} has decision ${p.decision.decisionId}, but the host never registered`,
        );
      else conv.count('guests listed by GET placements, present');
    }
  }
  const absent = [...x.guests.values()].filter((g) => !g.present).length;
  conv.count('(guest, host) pairs not present by the fact rule (removed there)', absent);
  conv.count(
    '(guest, host) pairs on hosts that never registered',
    [...x.guests.values()].filter((g) => g.present && !x.hosts.get(g.hostId)?.registered).length,
  );
  conv.count('hosts asked (GET placements)', placements.size);
  return [c.result(), conv.result()];
}

const FIELDS = ['hypervisorVersion', 'rsdp', 'action', 'reason'] as const;

function same(a: PlacementDecision, b: PlacementDecision): boolean {
  return a.rsdp === b.rsdp && a.action === b.action && a.reason === b.reason;
}

/**
 * 2. A seeded sample of guests (every guest when fewer), plus a sample of the guests each
 * hazard of the workload touched: the last PlacementDecided on the topic for each of their
 * present (guest, host) pairs has the hypervisorVersion, rsdp, action and reason that
 * decidePlacement gives on the facts rebuilt from the workload's own events (expected.ts,
 * no projector code). Also per registered host: GET placements' hypervisorVersion is the
 * version the host's decisions are for.
 */
export function checkDecisionsEqualPolicy(
  x: ExpectedFacts,
  w: Workload,
  topic: TopicView,
  placements: Map<string, PlacementsAnswer>,
  opts: { seed: number; sample: number; perHazard: number },
): InvariantResult {
  const c = new Check(
    'decisions equal the policy on facts rebuilt from the workload',
    `a seeded sample of ${opts.sample} guests (all when fewer) and of up to ${opts.perHazard} per hazard of the workload (guests on each declared-build host among them): per present (guest, host), the last PlacementDecided on the topic has the hypervisorVersion, rsdp, action and reason of decidePlacement on the facts the workload's own events give by the fact rule (test/faults/expected.ts, not the projector); per registered host, GET placements' hypervisorVersion is the target (planned) or running version`,
  );
  for (const t of x.ties) c.fail(`workload tie (the expectation would depend on store order): ${t}`);
  for (const a of x.ambiguities) c.fail(`workload ambiguity: ${a}`);

  // Per host: the version its decisions are for, as GET placements says.
  for (const h of x.hosts.values()) {
    if (!h.registered || !h.target) continue;
    const answer = placements.get(h.hostId);
    if (answer?.status !== 200) continue; // reported by check 1
    if (answer.body.hypervisorVersion !== h.target.version) {
      c.fail(
        `${h.hostId}: GET placements says hypervisorVersion ${answer.body.hypervisorVersion}, the facts say ${h.target.version} (${h.plan ? `plan in force to ${h.plan.toVersion}` : `running ${h.running?.version} from ${h.running?.by}`})`,
      );
    } else c.count('registered hosts whose GET placements version is the expected target');
  }

  // The guests to check: present on some registered host.
  const pairsOf = new Map<string, ExpectedGuest[]>();
  for (const g of x.presentOnRegistered()) {
    if (!pairsOf.has(g.guestId)) pairsOf.set(g.guestId, []);
    pairsOf.get(g.guestId)!.push(g);
  }
  const rand = prng(opts.seed);
  const sampleOf = (ids: string[], k: number): string[] => {
    const xs = [...ids];
    for (let i = 0; i < Math.min(k, xs.length); i++) {
      const j = i + Math.floor(rand() * (xs.length - i));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs.slice(0, k);
  };
  const chosen = new Map<string, Set<string>>(); // guestId -> why
  const choose = (ids: string[], why: string) => {
    for (const id of ids) {
      if (!chosen.has(id)) chosen.set(id, new Set());
      chosen.get(id)!.add(why);
    }
  };
  choose(sampleOf([...pairsOf.keys()].sort(), opts.sample), 'random sample');
  for (const [what, guestIds] of w.hazards.guests)
    choose(sampleOf([...guestIds].filter((g) => pairsOf.has(g)).sort(), opts.perHazard), what);
  // Host hazards: round-robin over the hosts, so that each host gets some (two at least).
  const onHost = new Map<string, string[]>();
  for (const [guestId, pairs] of pairsOf)
    for (const p of pairs) {
      if (!onHost.has(p.hostId)) onHost.set(p.hostId, []);
      onHost.get(p.hostId)!.push(guestId);
    }
  for (const [what, hostIds] of w.hazards.hosts) {
    const lists = [...hostIds].sort().map((h) => sampleOf((onHost.get(h) ?? []).sort(), Math.max(opts.perHazard, 2)));
    const want = Math.max(opts.perHazard, 2 * lists.length);
    const picked: string[] = [];
    for (let i = 0; picked.length < want && lists.some((l) => l.length > i); i++)
      for (const l of lists) if (l[i] && picked.length < want) picked.push(l[i]);
    choose(picked, what);
  }
  // Kernel hazards: guests whose (present) kernel or bootloader is the image.
  const usingImage = new Map<string, Set<string>>();
  for (const [guestId, pairs] of pairsOf)
    for (const p of pairs)
      for (const sha of [p.observed.boot.kernelSha256, p.observed.boot.bootloaderSha256]) {
        if (!sha) continue;
        if (!usingImage.has(sha)) usingImage.set(sha, new Set());
        usingImage.get(sha)!.add(guestId);
      }
  for (const [what, shas] of w.hazards.kernels) {
    const ids = new Set<string>();
    for (const sha of shas) for (const g of usingImage.get(sha) ?? []) ids.add(g);
    choose(sampleOf([...ids].sort(), opts.perHazard), what);
    c.count(`hazard "${what}": guests using those images`, ids.size);
  }

  const declaredBuildHosts = new Set(
    [...x.hosts.values()].filter((h) => h.target?.build === DECLARED_BUILD).map((h) => h.hostId),
  );
  const coveredDeclaredHosts = new Set<string>();
  const perReason = new Map<string, number>();
  const perWhy = new Map<string, number>();
  const perDiff = new Map<string, number>();
  const tally = { compared: 0, onDeclared: 0, changedByBuildRule: 0, changedByDeclarations: 0, staleWouldDiffer: 0 };
  for (const [guestId, why] of [...chosen].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    for (const p of pairsOf.get(guestId) ?? []) {
      const input = x.inputFor(guestId, p.hostId) as PlacementInput;
      const want = decidePlacement(input);
      const changedByDeclarations = !same(want, decidePlacement({ ...input, ...x.undeclared }));
      const staleWouldDiffer = !same(want, decidePlacement({ ...input, ...x.stale }));
      const onDeclared = declaredBuildHosts.has(p.hostId);
      tally.compared++;
      if (onDeclared) {
        tally.onDeclared++;
        coveredDeclaredHosts.add(p.hostId);
        if (!same(want, decidePlacement({ ...input, behaviours: x.undeclared.behaviours }))) tally.changedByBuildRule++;
      }
      if (changedByDeclarations) tally.changedByDeclarations++;
      if (staleWouldDiffer) tally.staleWouldDiffer++;
      for (const w2 of why) perWhy.set(w2, (perWhy.get(w2) ?? 0) + 1);
      const key = `${want.rsdp}/${want.action}/${want.reason}`;
      perReason.set(key, (perReason.get(key) ?? 0) + 1);

      const last = topic.last.get(pairKey(guestId, p.hostId));
      if (!last || last.value.type !== 'PlacementDecided') {
        c.fail(
          `${guestId} on ${p.hostId}: no current PlacementDecided on the topic to compare (last: ${last ? `${last.value.type} #${last.sequence}` : 'none'}); expected ${input.host.hypervisorVersion} ${key}`,
        );
        continue;
      }
      const got = last.value;
      const expected: Record<(typeof FIELDS)[number], string> = {
        hypervisorVersion: input.host.hypervisorVersion,
        rsdp: want.rsdp,
        action: want.action,
        reason: want.reason,
      };
      const diff = FIELDS.filter((f) => got[f] !== expected[f]);
      if (diff.length) {
        const f = got.facts ?? {};
        c.fail(
          `${guestId} on ${p.hostId} (${[...why].join('; ')}): topic #${got.sequence} has ${FIELDS.map((k) => got[k]).join(' ')}, the facts give ${FIELDS.map((k) => expected[k]).join(' ')}. ` +
            `Expected facts: build ${input.host.hypervisorBuild}, override ${input.host.rsdpOverrideSupported}, ${want.facts.toolstackBehaviour}, mode ${input.guest.mode}, boot ${input.guest.boot.method}, kernel ${input.kernel ? `known (GUEST_OS ${input.kernel.xenNotes?.guestOs ?? '-'}, features ${input.kernel.xenNotes?.supportedFeatures ?? '-'})` : 'unknown'}, need ${want.facts.need} (${want.facts.needReason}); ` +
            `message facts: build ${f.hypervisorBuild}, override ${f.rsdpOverrideSupported}, ${f.toolstackBehaviour}, mode ${f.mode}, boot ${f.bootMethod}, kernelKnown ${f.kernelKnown}, GUEST_OS ${f.guestOs}, need ${f.need} (${f.needReason})`,
        );
        perDiff.set(diff.join('+'), (perDiff.get(diff.join('+')) ?? 0) + 1);
      }
    }
  }
  c.count('guests chosen', chosen.size);
  c.count('(guest, host) pairs compared', tally.compared);
  for (const [k, n] of [...perReason].sort()) c.count(`  expected ${k}`, n);
  for (const [k, n] of [...perWhy].sort()) c.count(`  chosen as: ${k}`, n);
  for (const [k, n] of [...perDiff].sort()) c.count(`mismatches by field: ${k}`, n);
  c.count(`hosts whose decisions are for build ${DECLARED_BUILD}`, declaredBuildHosts.size);
  c.count(`  of them, covered by the comparison`, coveredDeclaredHosts.size);
  c.count(`pairs compared on those hosts`, tally.onDeclared);
  c.count(`  of them, decisions the ${DECLARED_BUILD} declaration changes`, tally.changedByBuildRule);
  c.count('pairs whose decision the operator declarations change (vs the defaults alone)', tally.changedByDeclarations);
  c.count('pairs whose decision an older declaration, had it won, would change', tally.staleWouldDiffer);
  if (tally.compared === 0) c.fail('no decision compared');
  if (declaredBuildHosts.size === 0)
    c.fail(`no host's decisions are for build ${DECLARED_BUILD}: the behaviour declaration proves nothing`);
  for (const h of declaredBuildHosts)
    if (!coveredDeclaredHosts.has(h) && (onHost.get(h)?.length ?? 0) > 0)
      c.fail(`${h} (decisions for build ${DECLARED_BUILD}) has guests, none compared`);
  if (tally.changedByBuildRule === 0)
    c.fail(
      `no compared decision differs from what the defaults alone would give for build ${DECLARED_BUILD}: the declaration proves nothing`,
    );
  if (tally.staleWouldDiffer === 0)
    c.fail(
      "no compared decision would change had an older declaration won: the declarations' order hazards prove nothing",
    );
  return c.result();
}

/**
 * 3. Repeats on the topic (a relay that died between the broker's ack and its commit sends a
 * batch again) are byte-equal to the first copy: the same decisionId (a withdrawal: the same
 * guest, host and sequence) never comes with other bytes, or another key.
 */
export function checkRepeatsByteEqual(decisions: Read[]): InvariantResult {
  const c = new Check(
    'placement topic: repeats are byte-equal to the first copy',
    'every message whose decisionId (a withdrawal: guest, host and sequence) was seen before has the same key and the same value bytes as its first copy',
  );
  const first = new Map<string, { key: string | null; value: Buffer; at: string }>();
  const repeated = new Set<string>();
  for (const m of decisions) {
    let v: any;
    try {
      v = JSON.parse(m.value!.toString('utf8'));
    } catch {
      c.fail(`message ${m.partition}/${m.offset} is not JSON`);
      continue;
    }
    const id =
      v.type === 'PlacementDecided'
        ? `decision ${v.decisionId}`
        : `withdrawal ${v.guestId} on ${v.hostId} #${v.sequence}`;
    const f = first.get(id);
    if (!f) {
      first.set(id, { key: m.key, value: m.value!, at: `${m.partition}/${m.offset}` });
      continue;
    }
    c.count(`repeats (${v.type})`);
    repeated.add(id);
    if (f.key !== m.key)
      c.fail(`${id}: repeat at ${m.partition}/${m.offset} keyed ${m.key}, first copy (${f.at}) keyed ${f.key}`);
    if (!f.value.equals(m.value!)) {
      let at = 0;
      while (at < f.value.length && f.value[at] === m.value![at]) at++;
      c.fail(
        `${id}: repeat at ${m.partition}/${m.offset} differs from the first copy (${f.at}) from byte ${at}: first …${f.value.subarray(Math.max(0, at - 40), at + 80).toString('utf8')}… repeat …${m.value!.subarray(Math.max(0, at - 40), at + 80).toString('utf8')}…`,
      );
    }
  }
  c.count('distinct messages', first.size);
  c.count('messages repeated at least once', repeated.size);
  return c.result();
}
