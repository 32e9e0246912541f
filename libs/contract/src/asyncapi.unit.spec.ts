import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import {
  ASYNCAPI_PATH,
  ASYNCAPI_REGENERATE_COMMAND,
  buildAsyncApi,
  channelIdOf,
  EventExamples,
  EventKeyFields,
  renderAsyncApiYaml,
} from './asyncapi';
import { EventRouting, EventTypes } from './events';
import { InputTopics, TopicName, Topics } from './topics';
import { validateEvent } from './validate';

// The official JSON Schema of AsyncAPI 3.0.0 (draft-07), from the AsyncAPI specs package.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's types do not declare its `schemas` export
const asyncApiSpecs: { schemas: Record<string, object> } = require('@asyncapi/specs');

const doc = buildAsyncApi() as any; // read as the plain JSON document it is

/** Follows a local `#/...` reference in the document. */
function resolve(ref: string): any {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce((node: any, part) => {
      expect(node).toHaveProperty([part]);
      return node[part];
    }, doc);
}

function channelOf(topic: TopicName): any {
  const channel = doc.channels[channelIdOf(topic)];
  expect(channel).toBeDefined();
  expect(channel.address).toBe(topic);
  return channel;
}

describe('AsyncAPI document', () => {
  it('documents every topic of the contract, inputs as receive and outputs as send operations', () => {
    const addresses = Object.values(doc.channels).map((c: any) => c.address);
    expect(addresses.sort()).toEqual(Object.values(Topics).sort());
    const actions = new Map<string, string[]>();
    for (const op of Object.values<any>(doc.operations)) {
      const address = resolve(op.channel.$ref).address;
      actions.set(address, [...(actions.get(address) ?? []), op.action]);
      for (const m of op.messages) expect(resolve(m.$ref)).toBeDefined();
    }
    for (const topic of Object.values(Topics)) {
      expect([topic, actions.get(topic)]).toEqual([topic, [InputTopics.includes(topic) ? 'receive' : 'send']]);
    }
  });

  it.each(EventTypes)('documents %s on its topic, with its key, payload schema and valid examples', (type) => {
    const channel = channelOf(EventRouting[type].topic as TopicName);
    const message = resolve(channel.messages[type].$ref);
    expect(message.name).toBe(type);
    expect(resolve(message.payload.$ref).properties.type.const).toBe(type);
    // Not on any other topic.
    for (const other of Object.values(Topics).filter((t) => t !== EventRouting[type].topic)) {
      expect(channelOf(other).messages[type]).toBeUndefined();
    }
    // The key binding names the field(s) the router keys by.
    const key = message.bindings.kafka.key;
    for (const field of EventKeyFields[type]) expect(key.description).toContain(`data.${field}`);
    expect(message.examples.length).toBeGreaterThan(0);
    for (const example of message.examples) {
      const result = validateEvent(example.payload);
      expect(result).toMatchObject({ ok: true });
      const data = example.payload.data;
      const keyed = EventKeyFields[type].map((f) => data[f]).find((v) => v !== undefined);
      expect(keyed).toBeDefined();
      expect(EventRouting[type].key(data)).toBe(keyed);
    }
  });

  it('keys decisions and withdrawals by hostId, dead letters by the original key', () => {
    const decisions = channelOf(Topics.placementDecisions);
    expect(Object.keys(decisions.messages).sort()).toEqual(['PlacementDecided', 'PlacementWithdrawn']);
    for (const ref of Object.values<any>(decisions.messages)) {
      expect(resolve(ref.$ref).bindings.kafka.key.description).toMatch(/^hostId/);
    }
    const deadLetters = channelOf(Topics.deadLetters);
    expect(resolve(deadLetters.messages.DeadLetter.$ref).bindings.kafka.key.description).toMatch(
      /original message key/,
    );
  });

  it('has examples that match their payload schemas, and a HypervisorBehaviourDeclared schema that wants exactly one of version or build', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const messages = doc.components.messages as Record<string, any>;
    for (const [name, message] of Object.entries(messages)) {
      const validate = ajv.compile(resolve(message.payload.$ref));
      for (const example of message.examples) {
        expect([name, example.name, validate(example.payload) ? [] : validate.errors]).toEqual([
          name,
          example.name,
          [],
        ]);
      }
    }
    const declared = ajv.compile(doc.components.schemas.HypervisorBehaviourDeclared);
    const base = EventExamples.HypervisorBehaviourDeclared[0].payload;
    expect(declared({ ...base, data: { behaviour: 'by-notes' } })).toBe(false);
    expect(declared({ ...base, data: { behaviour: 'by-notes', version: '4.12.0', build: 'x' } })).toBe(false);
    expect(declared({ ...base, data: { behaviour: 'by-notes', version: '4.12.0' } })).toBe(true);
  });

  it("documents GuestOsDeclared on the operators' own topic, keyed by guestOs, with a declaration and a withdrawal that validate", () => {
    const channel = channelOf(Topics.operatorDeclarations);
    const message = resolve(channel.messages.GuestOsDeclared.$ref);
    expect(message.bindings.kafka.key.description).toBe('data.guestOs of the event');
    expect(message.bindings.kafka.key).toMatchObject({ type: 'string', minLength: 1, maxLength: 256 });
    const examples = EventExamples.GuestOsDeclared.map((e) => e.payload as { data: Record<string, unknown> });
    expect(examples.map((p) => [p.data.guestOs, p.data.copesWithHighRsdp])).toEqual([
      ['Genode', true],
      ['Mini-OS', false],
    ]);
    for (const payload of examples) {
      expect(validateEvent(payload)).toMatchObject({ ok: true });
      expect(EventRouting.GuestOsDeclared.key(payload.data)).toBe(payload.data.guestOs);
    }
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const declared = ajv.compile(doc.components.schemas.GuestOsDeclared);
    const base = examples[0];
    expect(declared(base)).toBe(true);
    expect(declared({ ...base, data: { guestOs: 'Genode', copesWithHighRsdp: true } })).toBe(true);
    expect(declared({ ...base, data: { guestOs: 'Genode' } })).toBe(false);
    expect(declared({ ...base, data: { copesWithHighRsdp: true } })).toBe(false);
    expect(declared({ ...base, data: { guestOs: '', copesWithHighRsdp: true } })).toBe(false);
    expect(declared({ ...base, data: { guestOs: 'x'.repeat(257), copesWithHighRsdp: true } })).toBe(false);
    expect(declared({ ...base, data: { guestOs: 'Genode', copesWithHighRsdp: 'yes' } })).toBe(false);
    expect(declared({ ...base, data: { guestOs: 'Genode', copesWithHighRsdp: true, note: 'n'.repeat(2049) } })).toBe(
      false,
    );
    // The service's own validation agrees with the published schema.
    expect(validateEvent({ ...base, data: { guestOs: '', copesWithHighRsdp: true } })).toMatchObject({ ok: false });
    expect(
      validateEvent({ ...base, data: { guestOs: 'Genode', copesWithHighRsdp: true, note: 'n'.repeat(2049) } }),
    ).toMatchObject({ ok: false });
  });

  it('is a valid AsyncAPI 3.0.0 document (the official JSON Schema of the specification)', () => {
    // The specification's schema embeds the draft-07 meta-schema under its own $id: leave Ajv's out.
    const ajv = new Ajv({ meta: false, validateSchema: false, strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(asyncApiSpecs.schemas['3.0.0']);
    const valid = validate(doc);
    expect(valid ? [] : validate.errors).toEqual([]);
  });

  it(`is committed as ${ASYNCAPI_PATH}, unchanged (regenerate with: ${ASYNCAPI_REGENERATE_COMMAND})`, () => {
    const path = join(__dirname, '..', '..', '..', ASYNCAPI_PATH);
    const committed = readFileSync(path, 'utf8');
    const generated = renderAsyncApiYaml(doc);
    if (committed !== generated) {
      throw new Error(
        `${ASYNCAPI_PATH} is out of date with libs/contract/src/asyncapi.ts: run \`${ASYNCAPI_REGENERATE_COMMAND}\` and commit the result`,
      );
    }
  });
});
