import { KAFKA_AUTH_HEADER, KafkaKeyring, kafkaSigningKey, KafkaSigner, Role } from '@fleetcompat/auth';
import { Topics } from '@fleetcompat/contract';
import { SignedMessageAuthenticator } from './ingest-auth';
import { IngestBatchHandler, RawMessage } from './ingest-batch-handler';

const NOW = new Date('2026-11-20T09:00:00Z');
const tokens: Record<string, Role> = {
  fct_admin: 'admin',
  fct_ci: 'ci',
  fct_h1: 'host:h1',
  fct_h2: 'host:h2',
  fct_planner: 'planner',
};
const source = {
  lookups: 0,
  kafkaKeys: async (ids: readonly string[]) => {
    source.lookups++;
    const found = new Map();
    for (const [token, role] of Object.entries(tokens)) {
      const k = kafkaSigningKey(token);
      if (ids.includes(k.keyId))
        found.set(k.keyId, { key: k.key, principal: { tokenId: `id-${token}`, name: null, role } });
    }
    return found;
  },
};

const ev = (type: string, data: object, eventId = `e-${type}`) =>
  JSON.stringify({ eventId, type, schemaVersion: 1, occurredAt: '2026-11-20T08:00:00Z', source: 't', data });
const guest = (hostId: string, eventId?: string) =>
  ev(
    'GuestObserved',
    { guestId: `${hostId}.g`, hostId, mode: 'hvm', memoryMiB: 512, boot: { method: 'direct' } },
    eventId,
  );
const ack = (hostId: string) => ev('PlacementApplied', { hostId, guestId: 'g', decisionId: 'g#1' });

function message(offset: number, topic: string, value: string, token: string | null, key = 'k'): RawMessage {
  const m = new KafkaSigner(token).sign(topic, { key, value });
  return {
    offset: String(offset),
    key: Buffer.from(key),
    value: Buffer.from(value),
    headers: m.headers ? { [KAFKA_AUTH_HEADER]: Buffer.from(m.headers[KAFKA_AUTH_HEADER]) } : {},
  };
}

describe('signed messages in the ingest (KAFKA_AUTH=signed)', () => {
  const auth = new SignedMessageAuthenticator(new KafkaKeyring(source));
  const handler = new IngestBatchHandler({ auth });

  async function sort(topic: string, messages: RawMessage[]) {
    await auth.prepare(messages);
    const r = handler.handle(topic, 0, messages, NOW);
    return {
      stored: r.toStore.map((e) => e.origin.offset),
      letters: r.deadLetters.map((d) => [d.letter.offset, d.letter.error.code, d.letter.error.message]),
    };
  }

  it('unsigned, badly signed, unknown token, wrong topic, other host, other role: each dead-lettered with its reason; the rest stored', async () => {
    const inv = Topics.guestInventory;
    const before = source.lookups;
    const msgs = [
      message(0, inv, guest('h1'), 'fct_h1'),
      message(1, inv, guest('h1', 'e-unsigned'), null),
      { ...message(2, inv, guest('h1', 'e-tampered'), 'fct_h1'), value: Buffer.from(guest('h2', 'e-tampered')) },
      message(3, inv, guest('h1', 'e-unknown'), 'fct_never-issued'),
      message(4, inv, guest('h2', 'e-other-host'), 'fct_h1'),
      message(5, inv, guest('h2', 'e-h2'), 'fct_h2'),
      message(6, inv, ev('KernelBuildRevoked', { imageSha256: 'a'.repeat(64), reason: 'bad build' }), 'fct_ci'),
      message(7, inv, guest('h9', 'e-admin'), 'fct_admin'),
      message(8, inv, guest('h1', 'e-planner'), 'fct_planner'),
      { ...message(9, inv, guest('h1', 'e-moved'), 'fct_h1'), key: Buffer.from('other-key') },
      message(10, Topics.placementAcks, ack('h1'), 'fct_h1'), // signed for another topic
      { ...message(11, inv, guest('h1', 'e-junk'), 'fct_h1'), headers: { [KAFKA_AUTH_HEADER]: 'v1 nonsense' } },
      message(12, inv, '{not json', 'fct_h1'),
    ];
    const r = await sort(inv, msgs);
    expect(source.lookups - before).toBe(1); // one store query for the whole chunk
    expect(r.stored).toEqual(['0', '5', '7']);
    const codes = Object.fromEntries(r.letters.map(([o, c]) => [o, c]));
    expect(codes).toEqual({
      1: 'unauthenticated',
      2: 'unauthenticated',
      3: 'unauthenticated',
      4: 'forbidden',
      6: 'wrong-topic',
      8: 'forbidden',
      9: 'unauthenticated',
      10: 'unauthenticated',
      11: 'unauthenticated',
      12: 'invalid-json',
    });
    const why = Object.fromEntries(r.letters.map(([o, , m]) => [o, m]));
    expect(why[1]).toMatch(/unsigned: no fleetcompat-auth header/);
    expect(why[2]).toMatch(/signature does not match/);
    expect(why[3]).toMatch(/unknown or revoked/);
    expect(why[4]).toMatch(/role host:h1 may write events of host h1 only, not of h2 \(signed by token id-fct_h1\)/);
    expect(why[8]).toMatch(/role planner may not write events/);
    // the eventId of a refused message is named when its value is readable
    const r2 = handler.handle(inv, 0, [msgs[1], msgs[12]], NOW);
    expect(r2.deadLetters.map((d) => d.letter.eventId)).toEqual(['e-unsigned', undefined]);
  });

  it('operators only on their topic: a host-signed declaration is forbidden; on the acks topic it is the wrong topic', async () => {
    const decl = ev('HypervisorBehaviourDeclared', { version: '4.17.3', behaviour: 'always-high' });
    const onOwn = await sort(Topics.operatorDeclarations, [
      message(0, Topics.operatorDeclarations, decl, 'fct_h1'),
      message(1, Topics.operatorDeclarations, decl, 'fct_admin'),
    ]);
    expect(onOwn.letters.map(([o, c]) => [o, c])).toEqual([['0', 'forbidden']]);
    expect(onOwn.stored).toEqual(['1']);
    const onAcks = await sort(Topics.placementAcks, [message(0, Topics.placementAcks, decl, 'fct_h1')]);
    expect(onAcks.letters.map(([, c]) => c)).toEqual(['wrong-topic']);
  });

  it('without an authenticator nothing is checked (KAFKA_AUTH=none)', () => {
    const r = new IngestBatchHandler().handle(
      Topics.guestInventory,
      0,
      [message(0, Topics.guestInventory, guest('h2'), null)],
      NOW,
    );
    expect(r.toStore).toHaveLength(1);
  });
});
