// A fact that arrives late must not roll the projection back: the all-in-one process with
// KAFKA_BROKERS set (ingest, projector, relay and the HTTP API in one process), a topic prefix
// and a fresh database per case. A host registers on Xen 4.10.4, its PVH guest boots an old
// Linux (no XENFEAT_linux_rsdp_unrestricted) through pvh-grub, the host is upgraded to 4.17.3
// (by-notes: GRUB's notes put the RSDP high, and the host cannot force it low, so the guest is
// blocked). A HostRegistered sent before the upgrade (occurredAt earlier than the completion)
// and arriving after it must leave the host on 4.17.3 and the guest blocked for 4.17.3.
import { createHash } from 'node:crypto';
import { Consumer, Partitioners } from 'kafkajs';
import { KafkaSigner } from '@fleetcompat/auth';
import { EventRouting, FleetEvent, InputTopics, Topics } from '@fleetcompat/contract';
import { envelope } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, http as rawHttp, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, createTopics, kafkaClient, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

const http = (url: string) => rawHttp(url, { token: TEST_ADMIN_TOKEN });

const OLD_LINUX = createHash('sha256').update('late-facts: linux 4.15 without bit 15').digest('hex');
const AGENT = 'host-agent/h1';

const events = {
  registered: envelope('late-h1-registered-1', 'HostRegistered', '2026-11-01T10:00:00Z', AGENT, {
    hostId: 'h1',
    hypervisor: { name: 'xen', version: '4.10.4' },
    rsdpOverrideSupported: false,
  }),
  kernel: envelope('late-kernel-old-linux', 'KernelBuildCompleted', '2026-11-01T09:00:00Z', 'ci/kernel-pipeline', {
    imageSha256: OLD_LINUX,
    release: '4.15.0-213-generic',
    arch: 'x86_64',
    xenNotes: {
      guestOs: 'linux',
      guestVersion: '2.6',
      xenVersion: 'xen-3.0',
      supportedFeatures: 0x801,
      phys32Entry: '0x1000000',
      pvh: true,
    },
  }),
  g1: envelope('late-h1-g1-1', 'GuestObserved', '2026-11-01T10:05:00Z', AGENT, {
    guestId: 'g1',
    hostId: 'h1',
    mode: 'pvh',
    memoryMiB: 2048,
    boot: { method: 'pvh-grub', kernelSha256: OLD_LINUX },
  }),
  completed: envelope(
    'late-h1-upgrade-done',
    'HypervisorUpgradeCompleted',
    '2026-11-02T00:00:00Z',
    'upgrade-orchestrator',
    { hostId: 'h1', version: '4.17.3' },
  ),
  /** Sent before the upgrade (12:00 on the 1st), delivered after it. */
  staleRegistered: envelope('late-h1-registered-2', 'HostRegistered', '2026-11-01T12:00:00Z', AGENT, {
    hostId: 'h1',
    hypervisor: { name: 'xen', version: '4.10.4' },
    rsdpOverrideSupported: false,
  }),
  /** The marker: an HVM guest on h1, observed after everything else. */
  g2: envelope('late-h1-g2-1', 'GuestObserved', '2026-11-02T01:00:00Z', AGENT, {
    guestId: 'g2',
    hostId: 'h1',
    mode: 'hvm',
    memoryMiB: 1024,
    boot: { method: 'other' },
  }),
};

/** The all-in-one app on its own topics and database, and a reader of its placement topic. */
class Fleet {
  readonly prefix = `${uniqueName('e2e-late')}.`;
  readonly groupId = uniqueName('e2e-late-ingest');
  readonly decisions: any[] = [];
  db!: TestDatabase;
  app: AppProcess | undefined;
  private consumer: Consumer | undefined;

  topic(name: string): string {
    return this.prefix + name;
  }

  async start(): Promise<void> {
    this.db = await createTestDatabase('e2e_late_facts');
    await createTopics(
      Object.values(Topics).map((t) => this.topic(t)),
      3,
    );
    this.app = await startApp('all-in-one', {
      DATABASE_URL: this.db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: this.prefix,
      KAFKA_GROUP_ID: this.groupId,
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
    }).then((a) => a.ready());
    const consumer = kafkaClient().consumer({ groupId: uniqueName('e2e-late-reader'), maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic(Topics.placementDecisions), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        this.decisions.push(JSON.parse(message.value!.toString()));
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.app?.stop();
    if (process.env.E2E_LOGS && this.app)
      console.error(`all-in-one ${JSON.stringify(this.app.exit)}:\n${this.app.log().slice(-6000)}`);
    await this.db?.drop();
  }

  /** Produces one event on its topic with its key (or on a given partition); returns the partition it went to. */
  async send(e: FleetEvent, partition?: number): Promise<number> {
    const route = EventRouting[e.type];
    const producer = kafkaClient().producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const [meta] = await producer.send({
        topic: this.topic(route.topic),
        acks: -1,
        messages: [
          new KafkaSigner(TEST_ADMIN_TOKEN).sign(this.topic(route.topic), {
            key: route.key(e.data),
            value: JSON.stringify(e),
            ...(partition !== undefined ? { partition } : {}),
          }),
        ],
      });
      return meta.partition;
    } finally {
      await producer.disconnect();
    }
  }

  /** The guest's latest decision on the topic (highest sequence), or undefined. */
  last(guestId: string): any {
    return this.decisions
      .filter((d) => d.guestId === guestId)
      .sort((a, b) => a.sequence - b.sequence)
      .at(-1);
  }

  /** True once the ingest group has committed every input partition up to its end (every event stored). */
  async consumedToEnd(): Promise<boolean> {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      for (const name of InputTopics) {
        const ends = await admin.fetchTopicOffsets(this.topic(name));
        const [committed] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic(name)] });
        for (const end of ends) {
          const c = committed.partitions.find((p) => p.partition === end.partition);
          if (Number(end.high) > 0 && Number(c?.offset ?? -1) < Number(end.high)) return false;
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * After everything else: waits until the ingest has stored every event produced so far, then
   * produces the marker (g2) on the same partition as `after` and waits for its decision. The
   * projector applies events in stored order and the relay publishes in commit order per host,
   * so once g2's decision is on the topic, every decision the earlier events caused is too.
   */
  async settle(afterPartition: number): Promise<void> {
    await eventually('the ingest to store every event produced', () => this.consumedToEnd(), 60000);
    await this.send(events.g2, afterPartition);
    await eventually(
      'the marker guest g2 to be decided on h1',
      async () => this.last('g2')?.hostId === 'h1' && this.last('g2'),
      60000,
    );
  }
}

/** What both cases must end with: h1 on 4.17.3, g1 blocked for 4.17.3, on the topic and over HTTP (one assertion, so a failure shows all of it). */
async function expectUpgradedAndBlocked(fleet: Fleet): Promise<void> {
  const g1 = fleet.last('g1');
  const app = fleet.app!;
  const guest = await http(`${app.url}/v1/guests/g1`);
  const host = await http(`${app.url}/v1/hosts/h1`);
  // The first decision for 4.17.3, and any decision for 4.10.4 after it (a roll-back: "rsdp low, action none").
  const firstUpgraded = Math.min(
    ...fleet.decisions.filter((d) => d.guestId === 'g1' && d.hypervisorVersion === '4.17.3').map((d) => d.sequence),
  );
  const rolledBack = fleet.decisions.filter(
    (d) => d.guestId === 'g1' && d.hypervisorVersion === '4.10.4' && d.sequence > firstUpgraded,
  );
  expect({
    g1LastOnTopic: g1 && {
      hostId: g1.hostId,
      hypervisorVersion: g1.hypervisorVersion,
      rsdp: g1.rsdp,
      action: g1.action,
      reason: g1.reason,
    },
    g1DecisionsAfterTheUpgradeFor4104: rolledBack.map(
      (d) => `#${d.sequence} ${d.hypervisorVersion} ${d.rsdp} ${d.action}`,
    ),
    httpGuest: {
      status: guest.status,
      hostVersion: guest.body?.host?.hypervisor?.version,
      guestStatus: guest.body?.status,
      decisionFor: guest.body?.decision?.hypervisorVersion,
    },
    httpHost: {
      status: host.status,
      version: host.body?.hypervisor?.version,
      decisionsForVersion: host.body?.decisionsForVersion,
    },
  }).toEqual({
    g1LastOnTopic: {
      hostId: 'h1',
      hypervisorVersion: '4.17.3',
      rsdp: 'high',
      action: 'blocked',
      reason: 'high-rsdp-without-override',
    },
    g1DecisionsAfterTheUpgradeFor4104: [],
    httpGuest: { status: 200, hostVersion: '4.17.3', guestStatus: 'blocked', decisionFor: '4.17.3' },
    httpHost: { status: 200, version: '4.17.3', decisionsForVersion: '4.17.3' },
  });
}

describe('late facts over Kafka: a registration sent before an upgrade and delivered after it', () => {
  describe('the stale registration arrives after the upgrade was decided', () => {
    const fleet = new Fleet();
    beforeAll(() => fleet.start());
    afterAll(() => fleet.stop());

    it('leaves h1 on 4.17.3 and g1 blocked for 4.17.3', async () => {
      for (const e of [events.registered, events.kernel, events.g1, events.completed]) await fleet.send(e);
      await eventually(
        'g1 to be decided blocked for 4.17.3',
        async () => fleet.last('g1')?.hypervisorVersion === '4.17.3' && fleet.last('g1')?.action === 'blocked',
        60000,
      );
      expect(fleet.last('g1')).toMatchObject({
        hostId: 'h1',
        hypervisorVersion: '4.17.3',
        rsdp: 'high',
        action: 'blocked',
        reason: 'high-rsdp-without-override',
        kernelSha256: OLD_LINUX,
      });

      const partition = await fleet.send(events.staleRegistered);
      await fleet.settle(partition);
      expect(fleet.last('g2')).toMatchObject({ hostId: 'h1', rsdp: 'not-applicable', action: 'none' });
      await expectUpgradedAndBlocked(fleet);
    });
  });

  describe('the completion is produced first, the registrations after (on another topic: stored in any order)', () => {
    const fleet = new Fleet();
    beforeAll(() => fleet.start());
    afterAll(() => fleet.stop());

    it('gives the same final decision: h1 on 4.17.3, g1 blocked for 4.17.3', async () => {
      await fleet.send(events.completed);
      await fleet.send(events.kernel);
      await fleet.send(events.registered);
      await fleet.send(events.g1);
      const partition = await fleet.send(events.staleRegistered);
      await fleet.settle(partition);
      expect(fleet.last('g2')).toMatchObject({ hostId: 'h1', rsdp: 'not-applicable', action: 'none' });
      await expectUpgradedAndBlocked(fleet);
    });
  });
});
