import { stringify } from 'yaml';
import { EventRouting, EventType, EventTypes } from './events';
import {
  deadLetterJsonSchema,
  eventJsonSchema,
  placementDecidedJsonSchema,
  placementWithdrawnJsonSchema,
} from './json-schema';
import { InputTopics, MAX_EVENT_BYTES, TopicName, Topics } from './topics';
import { REJECTION_CODES } from './validate';

/**
 * The AsyncAPI 3.0 document of the v1 topics, built from the same schemas the service
 * validates with. docs/asyncapi.yaml is this document, serialized by `renderAsyncApiYaml`;
 * a unit test fails when the committed file and the code drift apart.
 */

/** The command that rewrites docs/asyncapi.yaml (printed by the test on a mismatch). */
export const ASYNCAPI_REGENERATE_COMMAND = 'npm run docs:asyncapi';

/** Where the document lives, relative to the repository root. */
export const ASYNCAPI_PATH = 'docs/asyncapi.yaml';

const KAFKA_BINDING_VERSION = '0.5.0';

/**
 * The `data` field(s) whose value is the Kafka message key of each input event (the same
 * choice as `EventRouting[type].key`; the unit test checks that they agree). Two fields: the
 * first one present.
 */
export const EventKeyFields: Record<EventType, readonly string[]> = {
  KernelBuildCompleted: ['imageSha256'],
  KernelBuildRevoked: ['imageSha256'],
  HostRegistered: ['hostId'],
  GuestObserved: ['guestId'],
  GuestRemoved: ['guestId'],
  HypervisorUpgradePlanned: ['hostId'],
  HypervisorUpgradeStarted: ['hostId'],
  HypervisorUpgradeCompleted: ['hostId'],
  HypervisorUpgradeCancelled: ['hostId'],
  PlacementApplied: ['hostId'],
  HypervisorBehaviourDeclared: ['version', 'build'],
  GuestOsDeclared: ['guestOs'],
};

/** Channel ids of the document, by topic. */
const ChannelIds: Record<TopicName, string> = {
  [Topics.kernelBuilds]: 'kernelBuilds',
  [Topics.guestInventory]: 'guestInventory',
  [Topics.hypervisorUpgrades]: 'hypervisorUpgrades',
  [Topics.placementAcks]: 'placementAcks',
  [Topics.operatorDeclarations]: 'operatorDeclarations',
  [Topics.placementDecisions]: 'placementDecisions',
  [Topics.deadLetters]: 'deadLetters',
};

export function channelIdOf(topic: TopicName): string {
  return ChannelIds[topic];
}

const EventSummaries: Record<EventType, string> = {
  KernelBuildCompleted: 'A kernel (or bootloader) image was built; its Xen ELF notes as CI read them.',
  KernelBuildRevoked: 'A kernel image must no longer be trusted: guests booting it count as booting an unknown kernel.',
  HostRegistered:
    'A host, its current hypervisor version and build, and whether its toolstack can force low RSDP placement.',
  GuestObserved: 'The full current state of one guest as one host sees it; per host, the latest occurredAt wins.',
  GuestRemoved:
    'The guest is no longer on the host; its decision there is withdrawn (unless a newer GuestObserved of that host says otherwise).',
  HypervisorUpgradePlanned:
    'An upgrade of the host hypervisor is planned; decisions are made for the target version from now on.',
  HypervisorUpgradeStarted: 'The planned upgrade has started (recorded; does not change decisions).',
  HypervisorUpgradeCompleted: 'The host now runs this version; decisions are for it from now on.',
  HypervisorUpgradeCancelled: 'The planned upgrade is off; decisions go back to the current version.',
  PlacementApplied: 'The host has put a decision in place for the next boot of the guest.',
  HypervisorBehaviourDeclared:
    'Added to the v1 contract: an operator declares how the toolstack of one hypervisor version, or one build, places the RSDP.',
  GuestOsDeclared:
    'Added to the v1 contract: an operator declares whether kernels with this exact GUEST_OS note are known to cope with a high RSDP (they read rsdp_paddr), or withdraws that knowledge.',
};

const EventDescriptions: Partial<Record<EventType, string>> = {
  KernelBuildCompleted: [
    '`xenNotes` is null when the image has no Xen ELF notes at all. `supportedFeatures` is the',
    'SUPPORTED_FEATURES bitmap (note 17) as a number; bit 15 is XENFEAT_linux_rsdp_unrestricted.',
    '`pvh` is true when the PHYS32_ENTRY note (18) is present. Bootloader images (pvh-grub) are',
    'announced with the same event; a guest names them in `boot.bootloaderSha256`.',
  ].join('\n'),
  GuestObserved: [
    "Per host: of that host's GuestObserved and GuestRemoved for the guest, the one with the latest",
    'occurredAt says whether the host has the guest and with which facts (ties: the one stored last).',
    "A host's reports never change the guest on another host: a guest two hosts report is decided for each.",
    '`boot.method` "other" is treated like "pvh-grub": the toolstack loads something other than the kernel.',
  ].join('\n'),
  HypervisorBehaviourDeclared: [
    'Exactly one of `version` (an exact version string, e.g. "4.11.0") or `build` (an exact build',
    'string) is given. Per version or build, the declaration with the latest occurredAt is in force',
    '(ties: the one stored last).',
    'A declared rule takes precedence over the table shipped with the service; a rule for a build',
    'takes precedence over one for a version. Every guest is re-decided.',
    'Key: `version`, or `build` when the rule is for a build.',
  ].join('\n'),
  GuestOsDeclared: [
    '`guestOs` is compared exactly and case-sensitively with the GUEST_OS note (6) of a kernel:',
    '"Linux" and "linux" are different values. The list shipped with the service names "FreeBSD",',
    '"NetBSD" and "Mini-OS" as coping. `copesWithHighRsdp: true` adds the value to the list; `false`',
    'withdraws it, a default included, so that such kernels count as needing the RSDP low (bit 15',
    'of SUPPORTED_FEATURES still counts as evidence). Per `guestOs`, the declaration with the latest',
    'occurredAt is in force (ties: the one stored last). Every guest is re-decided.',
    'Key: `guestOs`. Admin-only over HTTP.',
  ].join('\n'),
};

function keySchemaOf(type: EventType): Record<string, unknown> {
  const fields = EventKeyFields[type];
  const data = (eventJsonSchema(type).properties as { data: { properties: Record<string, Record<string, unknown>> } })
    .data;
  if (fields.length === 1) {
    return { ...data.properties[fields[0]], description: `data.${fields[0]} of the event` };
  }
  return {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: fields.map((f) => `data.${f}`).join(', else ') + ' of the event',
  };
}

const sha = (c: string) => c.repeat(64);
const NEW_KERNEL = sha('a');
const OLD_KERNEL = sha('b');
const GRUB_IMAGE = sha('c');

function envelope(type: EventType, eventId: string, source: string, data: Record<string, unknown>) {
  return { eventId, type, schemaVersion: 1, occurredAt: '2026-11-24T10:00:00Z', source, data };
}

/** One or more examples per input event; each must pass `validateEvent` (the unit test checks it). */
export const EventExamples: Record<EventType, { name: string; summary: string; payload: Record<string, unknown> }[]> = {
  KernelBuildCompleted: [
    {
      name: 'linux-6.1',
      summary: 'A Linux 6.1 cloud kernel: GUEST_OS "linux", SUPPORTED_FEATURES 0x8801 (bit 15 set)',
      payload: envelope('KernelBuildCompleted', 'ci-kernel-8812-a', 'ci/kernel-pipeline', {
        imageSha256: NEW_KERNEL,
        release: '6.1.0-47-cloud-amd64',
        arch: 'x86_64',
        distro: 'debian-12',
        pipeline: { name: 'kernel-pipeline', runId: '8812', url: 'https://ci.example.org/kernel-pipeline/8812' },
        xenNotes: {
          guestOs: 'linux',
          guestVersion: '2.6',
          xenVersion: 'xen-3.0',
          loader: 'generic',
          features: '!writable_page_tables|pae_pgdir_above_4gb',
          supportedFeatures: 0x8801,
          phys32Entry: '0x1000850',
          pvh: true,
        },
      }),
    },
    {
      name: 'linux-4.15',
      summary: 'A Linux 4.15 kernel: SUPPORTED_FEATURES 0x801 (no bit 15), needs the RSDP below 1 MiB',
      payload: envelope('KernelBuildCompleted', 'ci-kernel-7001-b', 'ci/kernel-pipeline', {
        imageSha256: OLD_KERNEL,
        release: '4.15.0-213-generic',
        arch: 'x86_64',
        xenNotes: {
          guestOs: 'linux',
          guestVersion: '2.6',
          xenVersion: 'xen-3.0',
          supportedFeatures: 0x801,
          phys32Entry: '0x1000280',
          pvh: true,
        },
      }),
    },
  ],
  KernelBuildRevoked: [
    {
      name: 'revoked',
      summary: 'A build withdrawn by CI',
      payload: envelope('KernelBuildRevoked', 'ci-kernel-7001-revoke', 'ci/kernel-pipeline', {
        imageSha256: OLD_KERNEL,
        reason: 'built from the wrong config',
      }),
    },
  ],
  HostRegistered: [
    {
      name: 'host',
      summary: 'A Xen 4.10.4 host whose toolstack can force low placement',
      payload: envelope('HostRegistered', 'agent-xen-a17-boot-0042', 'host-agent/xen-a17', {
        hostId: 'xen-a17',
        hypervisor: { name: 'xen', version: '4.10.4' },
        rsdpOverrideSupported: true,
        labels: { rack: 'r12', pool: 'web', wave: 'w3' },
      }),
    },
  ],
  GuestObserved: [
    {
      name: 'pvh-grub-guest',
      summary: 'A PVH guest booted through pvh-grub, next booting the Linux 4.15 kernel',
      payload: envelope('GuestObserved', 'agent-xen-a17-web-42-000917', 'host-agent/xen-a17', {
        guestId: 'web-42',
        hostId: 'xen-a17',
        mode: 'pvh',
        memoryMiB: 4096,
        boot: { method: 'pvh-grub', kernelSha256: OLD_KERNEL, bootloaderSha256: GRUB_IMAGE },
      }),
    },
  ],
  GuestRemoved: [
    {
      name: 'removed',
      summary: 'The guest left the host',
      payload: envelope('GuestRemoved', 'agent-xen-a17-web-42-000918', 'host-agent/xen-a17', {
        guestId: 'web-42',
        hostId: 'xen-a17',
      }),
    },
  ],
  HypervisorUpgradePlanned: [
    {
      name: 'planned',
      summary: 'Xen 4.10.4 to 4.17.3 in wave w3',
      payload: envelope('HypervisorUpgradePlanned', 'orch-w3-xen-a17-plan', 'upgrade-orchestrator', {
        hostId: 'xen-a17',
        fromVersion: '4.10.4',
        toVersion: '4.17.3',
        plannedRebootAt: '2026-12-01T02:00:00Z',
        waveId: 'w3',
      }),
    },
  ],
  HypervisorUpgradeStarted: [
    {
      name: 'started',
      summary: 'The upgrade started',
      payload: envelope('HypervisorUpgradeStarted', 'orch-w3-xen-a17-start', 'upgrade-orchestrator', {
        hostId: 'xen-a17',
      }),
    },
  ],
  HypervisorUpgradeCompleted: [
    {
      name: 'completed',
      summary: 'The host runs 4.17.3',
      payload: envelope('HypervisorUpgradeCompleted', 'orch-w3-xen-a17-done', 'upgrade-orchestrator', {
        hostId: 'xen-a17',
        version: '4.17.3',
      }),
    },
  ],
  HypervisorUpgradeCancelled: [
    {
      name: 'cancelled',
      summary: 'The upgrade is off',
      payload: envelope('HypervisorUpgradeCancelled', 'orch-w3-xen-a17-cancel', 'upgrade-orchestrator', {
        hostId: 'xen-a17',
        reason: 'wave w3 postponed',
      }),
    },
  ],
  PlacementApplied: [
    {
      name: 'applied',
      summary: 'The host applied decision web-42#3',
      payload: envelope('PlacementApplied', 'agent-xen-a17-ack-web-42-3', 'host-agent/xen-a17', {
        hostId: 'xen-a17',
        guestId: 'web-42',
        decisionId: 'web-42#3',
      }),
    },
  ],
  HypervisorBehaviourDeclared: [
    {
      name: 'development-build',
      summary: 'A 4.11 development build that always places the RSDP high',
      payload: envelope('HypervisorBehaviourDeclared', 'ops-behaviour-4.11-unstable-20180301', 'ops/alice', {
        build: '4.11-unstable-20180301',
        behaviour: 'always-high',
        note: '4.11 development build from before the RSDP rule was added',
      }),
    },
    {
      name: 'version',
      summary: 'A version declared by-notes',
      payload: envelope('HypervisorBehaviourDeclared', 'ops-behaviour-4.11.0-rc7', 'ops/alice', {
        version: '4.11.0-rc7',
        behaviour: 'by-notes',
      }),
    },
  ],
  GuestOsDeclared: [
    {
      name: 'copes',
      summary: 'Kernels with GUEST_OS "Genode" are known to read rsdp_paddr',
      payload: envelope('GuestOsDeclared', 'ops-guest-os-genode-1', 'ops/alice', {
        guestOs: 'Genode',
        copesWithHighRsdp: true,
        note: 'tested on the 4.17.3 staging hosts: boots with the RSDP high',
      }),
    },
    {
      name: 'withdrawn',
      summary: 'Mini-OS is no longer taken to cope with a high RSDP (a default withdrawn)',
      payload: envelope('GuestOsDeclared', 'ops-guest-os-mini-os-1', 'ops/alice', {
        guestOs: 'Mini-OS',
        copesWithHighRsdp: false,
        note: 'not verified on our stub domains; place the RSDP low until it is',
      }),
    },
  ],
};

export const PlacementDecidedExample = {
  type: 'PlacementDecided',
  decisionId: 'web-42#3',
  hostId: 'xen-a17',
  guestId: 'web-42',
  sequence: 3,
  hypervisorVersion: '4.17.3',
  rsdp: 'low',
  action: 'override-low',
  reason: 'override-low-required',
  kernelSha256: OLD_KERNEL,
  costs: [
    {
      code: 'first-gib-superpage-lost',
      detail: 'with the RSDP below 1 MiB the first GiB of guest memory cannot be mapped with one 1 GiB superpage',
    },
  ],
  policyVersion: '1',
  decidedAt: '2026-11-24T10:05:00.000Z',
  facts: {
    mode: 'pvh',
    bootMethod: 'pvh-grub',
    memoryMiB: 4096,
    kernelSha256: OLD_KERNEL,
    kernelKnown: true,
    guestOs: 'linux',
    supportedFeatures: 0x801,
    rsdpUnrestricted: false,
    pvhCapable: true,
    need: 'low',
    needReason: 'kernel-lacks-rsdp-unrestricted',
    hypervisorVersion: '4.17.3',
    hypervisorBuild: null,
    toolstackBehaviour: 'by-notes',
    behaviourCovered: true,
    imageLoaded: 'bootloader',
    toolstackPlacement: 'high',
    rsdpOverrideSupported: true,
  },
};

export const PlacementWithdrawnExample = {
  type: 'PlacementWithdrawn',
  hostId: 'xen-a17',
  guestId: 'web-42',
  sequence: 4,
  withdrawnAt: '2026-11-25T08:00:00.000Z',
};

export const DeadLetterExample = {
  topic: 'fleet.guest-inventory.v1',
  partition: 3,
  offset: '18842',
  key: 'web-43',
  value:
    '{"eventId":"agent-xen-a17-web-43-000001","type":"GuestObserved","schemaVersion":1,"occurredAt":"2026-11-24T10:00:00Z","source":"host-agent/xen-a17","data":{"guestId":"web-43","hostId":"xen-a17","mode":"pvhv2","memoryMiB":2048,"boot":{"method":"direct"}}}',
  valueEncoding: 'utf8',
  error: { code: 'invalid-data', message: 'data.mode: Invalid option: expected one of "pvh"|"hvm"|"pv"' },
  eventId: 'agent-xen-a17-web-43-000001',
  receivedAt: '2026-11-24T10:00:01.204Z',
};

const DELIVERY = `
## Delivery semantics

**Envelope.** Every input message is one JSON envelope: \`eventId\` (1-128 characters, the
idempotency key), \`type\`, \`schemaVersion\` (1), \`occurredAt\` (RFC 3339 with offset),
\`source\` and \`data\`. The same envelopes are accepted by \`POST /v1/events\`.

**Idempotency.** An \`eventId\` is stored once, forever: a redelivery, a producer retry or an
HTTP retry of the same \`eventId\` has no effect (the first one stored wins, even when a later
one differs). Producers must derive the \`eventId\` from what they report, not from the attempt.

**Dead letters.** A message that is not valid JSON, too large (over ${MAX_EVENT_BYTES} bytes), not a
valid envelope, of an unknown type, or whose \`data\` fails validation is published on
\`fleet.dead-letters.v1\` with a reason code (\`invalid-json\`, \`oversize\`, \`invalid-envelope\`,
\`unknown-type\`, \`invalid-data\`) and its offset is committed: a bad message never stops
the consumer. Fields the schemas do not name are ignored and not stored.

**Ordering.** Kafka keeps order within a partition, so per message key: inventory per host
or per guest, upgrades and acknowledgements per host, kernel builds per image. There is no
order across topics or keys; the service copes with any interleaving (a guest on a host it
does not know yet waits for the host).

**Decisions.** \`fleet.placement-decisions.v1\` is keyed by \`hostId\` and published at least
once from a transactional outbox, in commit order per key (with projector shards, in commit
order per guest: the guests of one host may be decided by several shards). Each message carries a
\`sequence\` that is strictly increasing per guest (decisions and withdrawals share it): a
consumer keeps the highest \`sequence\` it has seen per \`guestId\` and drops any message
whose \`sequence\` is not higher (a repeat or a stale message). Hosts read the full current
set from \`GET /v1/hosts/{hostId}/placements\` at start and after a gap, and acknowledge with
\`PlacementApplied\` on \`fleet.placement-acks.v1\`.

**Topic prefix.** With \`FLEETCOMPAT_TOPIC_PREFIX\` set (letters, digits, ".", "_", "-";
empty by default) every topic the service consumes and publishes is the prefix followed by
the name below, e.g. \`staging.fleet.kernel-builds.v1\`.
`;

function message(
  name: string,
  title: string,
  summary: string,
  payloadRef: string,
  key: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    title,
    summary,
    contentType: 'application/json',
    ...extra,
    payload: { $ref: `#/components/schemas/${payloadRef}` },
    bindings: { kafka: { key, bindingVersion: KAFKA_BINDING_VERSION } },
  };
}

const InputChannelDescriptions: Record<string, string> = {
  [Topics.kernelBuilds]: 'Kernel (and bootloader) builds from CI, keyed by the image sha256.',
  [Topics.guestInventory]:
    'Hosts and guests as the host agents see them. HostRegistered is keyed by hostId, GuestObserved and GuestRemoved by guestId.',
  [Topics.hypervisorUpgrades]: 'Hypervisor upgrades from the orchestration, keyed by hostId.',
  [Topics.placementAcks]: 'Acknowledgements from hosts that a decision is in place for the next boot, keyed by hostId.',
  [Topics.operatorDeclarations]:
    "Added to the contract: the operators' declarations, on a topic of their own that only operators may write (Kafka ACLs): HypervisorBehaviourDeclared, keyed by the version or build it declares, and GuestOsDeclared, keyed by the guestOs it declares. Either type on any other topic is dead-lettered (wrong-topic).",
};

/** Headers of every input message: the producer's signature (README "Security: who may write what"). */
const InputHeaders = {
  type: 'object',
  properties: {
    'fleetcompat-auth': {
      type: 'string',
      pattern: '^v1 [0-9a-f]{64} [0-9a-f]{64}$',
      description:
        'Required when the service runs with KAFKA_AUTH=signed (the default): "v1 <keyId> <mac>", keyId = hex(sha256(sha256(token))), ' +
        'mac = hex(HMAC-SHA256(key = sha256(token), "fleetcompat-auth v1\\n" || field(topic) || field(message key) || field(value))), ' +
        'field(x) = 4-byte big-endian length of x and its bytes (0xFFFFFFFF for a null key or value); the topic as produced to, with any prefix. ' +
        'The token is a fleetcompat token whose role may write the event, as on POST /v1/events. Missing, malformed or not matching, or an unknown or revoked token: ' +
        'dead letter unauthenticated; a role that may not write the event: forbidden.',
    },
  },
};

/** The AsyncAPI 3.0 document of the v1 wire contract. */
export function buildAsyncApi(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const channels: Record<string, Record<string, unknown>> = {};
  const operations: Record<string, Record<string, unknown>> = {};

  for (const type of EventTypes) {
    schemas[type] = eventJsonSchema(type);
    messages[type] = message(type, type, EventSummaries[type], type, keySchemaOf(type), {
      ...(EventDescriptions[type] ? { description: EventDescriptions[type] } : {}),
      headers: InputHeaders,
      examples: EventExamples[type].map((e) => ({ name: e.name, summary: e.summary, payload: e.payload })),
    });
  }
  schemas.PlacementDecided = placementDecidedJsonSchema;
  schemas.PlacementWithdrawn = placementWithdrawnJsonSchema;
  schemas.DeadLetter = deadLetterJsonSchema;

  const decisionHeaders = (type: string) => ({
    type: 'object',
    properties: {
      type: { type: 'string', const: type, description: 'the message type, for consumers that filter without parsing' },
      guestId: { type: 'string' },
    },
  });
  messages.PlacementDecided = message(
    'PlacementDecided',
    'PlacementDecided',
    'Where the RSDP of one guest must be placed for one hypervisor version, and what the host must do.',
    'PlacementDecided',
    { type: 'string', description: 'hostId: the host the guest is on' },
    {
      description: [
        'Published for every guest on a host the service knows a version for (current, or the target of a planned upgrade),',
        'and again whenever a fact it rests on changes (kernel, boot method, target version or build, host capability,',
        'toolstack behaviour, the GUEST_OS values known to cope with a high RSDP, policy version). `decisionId` is "<guestId>#<sequence>".',
        'A guest that two hosts report at once is decided for each of them: one PlacementDecided per host, keyed by that host,',
        'numbered from the same per-guest sequence (strictly increasing per guest).',
      ].join('\n'),
      headers: decisionHeaders('PlacementDecided'),
      examples: [
        {
          name: 'override-low',
          summary: 'An old kernel behind pvh-grub on a host that can override',
          headers: { type: 'PlacementDecided', guestId: 'web-42' },
          payload: PlacementDecidedExample,
        },
      ],
    },
  );
  messages.PlacementWithdrawn = message(
    'PlacementWithdrawn',
    'PlacementWithdrawn',
    'The guest left the host: its decision there no longer applies.',
    'PlacementWithdrawn',
    { type: 'string', description: 'hostId: the host the guest left' },
    {
      description:
        'Published when the host no longer has the guest (its GuestRemoved is newer than its GuestObserved). Uses the next sequence of the guest.',
      headers: decisionHeaders('PlacementWithdrawn'),
      examples: [
        {
          name: 'withdrawn',
          summary: 'web-42 left xen-a17',
          headers: { type: 'PlacementWithdrawn', guestId: 'web-42' },
          payload: PlacementWithdrawnExample,
        },
      ],
    },
  );
  messages.DeadLetter = message(
    'DeadLetter',
    'DeadLetter',
    'A rejected input message: where it came from, the original key and value, and why it was rejected.',
    'DeadLetter',
    {
      type: 'string',
      description:
        'the original message key, so that dead letters of one key stay in order; no key when the original had none',
    },
    {
      headers: {
        type: 'object',
        properties: {
          'fleetcompat-error-code': { type: 'string', enum: [...REJECTION_CODES] },
          'fleetcompat-original-topic': { type: 'string' },
          'fleetcompat-original-partition': { type: 'string', description: 'decimal' },
          'fleetcompat-original-offset': { type: 'string', description: 'decimal' },
        },
      },
      examples: [
        {
          name: 'invalid-data',
          summary: 'A GuestObserved with an unknown mode',
          headers: {
            'fleetcompat-error-code': 'invalid-data',
            'fleetcompat-original-topic': 'fleet.guest-inventory.v1',
            'fleetcompat-original-partition': '3',
            'fleetcompat-original-offset': '18842',
          },
          payload: DeadLetterExample,
        },
      ],
    },
  );

  for (const topic of InputTopics) {
    const id = channelIdOf(topic);
    const types = EventTypes.filter((t) => EventRouting[t].topic === topic);
    channels[id] = {
      address: topic,
      title: topic,
      description: InputChannelDescriptions[topic],
      messages: Object.fromEntries(types.map((t) => [t, { $ref: `#/components/messages/${t}` }])),
    };
    operations[`receive${id[0].toUpperCase()}${id.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: `fleetcompat consumes ${topic}: valid events are stored once per eventId, invalid ones go to fleet.dead-letters.v1.`,
      messages: types.map((t) => ({ $ref: `#/channels/${id}/messages/${t}` })),
      bindings: {
        kafka: {
          groupId: {
            type: 'string',
            default: 'fleetcompat-ingest',
            description: 'the consumer group (setting KAFKA_GROUP_ID)',
          },
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
    };
  }

  channels.placementDecisions = {
    address: Topics.placementDecisions,
    title: Topics.placementDecisions,
    description:
      'Placement decisions and withdrawals, keyed by hostId; at least once, with a per-guest strictly increasing sequence.',
    messages: {
      PlacementDecided: { $ref: '#/components/messages/PlacementDecided' },
      PlacementWithdrawn: { $ref: '#/components/messages/PlacementWithdrawn' },
    },
  };
  operations.sendPlacementDecisions = {
    action: 'send',
    channel: { $ref: '#/channels/placementDecisions' },
    summary:
      'fleetcompat publishes decisions from its transactional outbox (idempotent producer, acks=all; at least once).',
    messages: [
      { $ref: '#/channels/placementDecisions/messages/PlacementDecided' },
      { $ref: '#/channels/placementDecisions/messages/PlacementWithdrawn' },
    ],
  };
  channels.deadLetters = {
    address: Topics.deadLetters,
    title: Topics.deadLetters,
    description: 'Input messages the service rejected, with the reason; keyed by the original key.',
    messages: { DeadLetter: { $ref: '#/components/messages/DeadLetter' } },
  };
  operations.sendDeadLetters = {
    action: 'send',
    channel: { $ref: '#/channels/deadLetters' },
    summary: 'fleetcompat publishes a dead letter for every rejected input message before committing its offset.',
    messages: [{ $ref: '#/channels/deadLetters/messages/DeadLetter' }],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'fleetcompat v1 topics',
      version: '1.0.0',
      description:
        'Kernel builds, inventory, hypervisor upgrades and acknowledgements in; ACPI RSDP placement decisions for Xen PVH guests and dead letters out. ' +
        'See docs/contract.md for the meaning of every field and docs/domain.md for the policy.\n' +
        DELIVERY,
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  };
}

/** docs/asyncapi.yaml: the document as YAML, with a header naming the command that writes it. */
export function renderAsyncApiYaml(doc: Record<string, unknown> = buildAsyncApi()): string {
  const header = `# Generated from libs/contract/src/asyncapi.ts by \`${ASYNCAPI_REGENERATE_COMMAND}\`. Do not edit by hand.\n`;
  return header + stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 });
}
