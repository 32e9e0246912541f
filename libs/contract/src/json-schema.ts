import { z } from 'zod';
import { EnvelopeSchema, EventDataSchemas, EventType } from './events';
import { REJECTION_CODES } from './validate';

/** JSON Schemas of the contract, for the OpenAPI and AsyncAPI documents. */

export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const envelope = z.toJSONSchema(
    EnvelopeSchema.extend({ type: z.literal(type), data: EventDataSchemas[type] as z.ZodTypeAny }),
    { unrepresentable: 'any' },
  ) as Record<string, unknown>;
  delete envelope.$schema;
  if (type === 'HypervisorBehaviourDeclared') {
    // zod's refinement (exactly one of version or build) has no JSON Schema form of its own.
    const props = envelope.properties as Record<string, Record<string, unknown>>;
    props.data = {
      ...props.data,
      oneOf: [{ required: ['version'] }, { required: ['build'] }],
      description: 'exactly one of version or build',
    };
  }
  return { title: type, ...envelope };
}

/** A JSON Schema document (plain JSON: read by ajv and written into the AsyncAPI document). */
export type JsonSchema = Record<string, unknown>;

export const costJsonSchema: JsonSchema = {
  type: 'object',
  required: ['code', 'detail'],
  properties: { code: { type: 'string', enum: ['first-gib-superpage-lost'] }, detail: { type: 'string' } },
};

export const placementDecidedJsonSchema: JsonSchema = {
  title: 'PlacementDecided',
  type: 'object',
  required: [
    'type',
    'decisionId',
    'hostId',
    'guestId',
    'sequence',
    'hypervisorVersion',
    'rsdp',
    'action',
    'reason',
    'costs',
    'policyVersion',
    'decidedAt',
  ],
  properties: {
    type: { const: 'PlacementDecided' },
    decisionId: { type: 'string', description: '"<guestId>#<sequence>"; hosts acknowledge it in PlacementApplied' },
    hostId: { type: 'string' },
    guestId: { type: 'string' },
    sequence: {
      type: 'integer',
      minimum: 1,
      description: 'per guest, strictly increasing (shared with PlacementWithdrawn)',
    },
    hypervisorVersion: {
      type: 'string',
      description: 'the version the decision is for: the planned target during an upgrade, else the current one',
    },
    rsdp: { type: 'string', enum: ['low', 'high', 'not-applicable'] },
    action: { type: 'string', enum: ['none', 'override-low', 'blocked'] },
    reason: {
      type: 'string',
      enum: [
        'guest-not-pvh',
        'kernel-not-pvh-capable',
        'toolstack-places-low',
        'kernel-handles-high-rsdp',
        'override-low-required',
        'high-rsdp-without-override',
      ],
    },
    kernelSha256: { type: 'string' },
    costs: { type: 'array', items: costJsonSchema },
    policyVersion: { type: 'string' },
    decidedAt: { type: 'string', format: 'date-time', description: 'when the event that caused it was recorded' },
    facts: {
      type: 'object',
      description: 'the facts the decision rests on (need, toolstack behaviour and placement, kernel notes, ...)',
      additionalProperties: true,
    },
  },
};

export const placementWithdrawnJsonSchema: JsonSchema = {
  title: 'PlacementWithdrawn',
  type: 'object',
  required: ['type', 'hostId', 'guestId', 'sequence', 'withdrawnAt'],
  properties: {
    type: { const: 'PlacementWithdrawn' },
    hostId: { type: 'string', description: 'the host the guest left' },
    guestId: { type: 'string' },
    sequence: { type: 'integer', minimum: 1 },
    withdrawnAt: { type: 'string', format: 'date-time' },
  },
};

export const deadLetterJsonSchema: JsonSchema = {
  title: 'DeadLetter',
  type: 'object',
  required: ['topic', 'partition', 'offset', 'key', 'value', 'error', 'receivedAt'],
  properties: {
    topic: { type: 'string' },
    partition: { type: ['integer', 'null'] },
    offset: { type: ['string', 'null'] },
    key: { type: ['string', 'null'] },
    value: { type: ['string', 'null'], description: 'the original value (UTF-8), truncated past a limit' },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: [...REJECTION_CODES] }, message: { type: 'string' } },
    },
    eventId: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    valueEncoding: {
      type: 'string',
      enum: ['utf8', 'base64'],
      description: 'utf8 when the original value was valid UTF-8, else base64 of its bytes; absent when value is null',
    },
    valueTruncated: { type: 'boolean', const: true, description: 'present when value was cut to the size limit' },
  },
};

export const problemJsonSchema: JsonSchema = {
  title: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'stable error code (also the last segment of type)' },
    errors: { type: 'array', items: { type: 'object' }, description: 'per-event rejections for POST /v1/events' },
  },
};
