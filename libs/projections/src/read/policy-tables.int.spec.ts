import { DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES } from '@fleetcompat/policy';
import { envelope } from '@fleetcompat/sample-fleet';
import { readFixture, ReadFixture } from '../../test/read-fixture';
import { readPolicyTables } from './policy-tables';

describe('readPolicyTables (real Postgres)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await readFixture('policy_tables')));
  afterAll(() => f?.close());

  it('gives the defaults alone when nothing is declared, then the declared rules in key order over the defaults', async () => {
    expect(await readPolicyTables(f.ctx, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES)).toEqual({
      behaviours: { declared: [], defaults: DEFAULT_BEHAVIOUR_RULES },
      guestOses: { declared: [], defaults: DEFAULT_GUEST_OS_RULES },
    });
    await f.put([
      envelope('b-2', 'HypervisorBehaviourDeclared', '2026-11-01T00:00:00Z', 'operator', {
        version: '4.19',
        behaviour: 'always-high',
      }),
      envelope('b-1', 'HypervisorBehaviourDeclared', '2026-11-01T00:01:00Z', 'operator', {
        version: '4.18',
        behaviour: 'by-notes',
      }),
      envelope('o-1', 'GuestOsDeclared', '2026-11-01T00:02:00Z', 'operator', {
        guestOs: 'Plan9',
        copesWithHighRsdp: true,
      }),
    ]);
    const rows = await f.ds.query(`SELECT rule FROM projection.behaviour_rules ORDER BY key`);
    const [os] = await f.ds.query(`SELECT rule FROM projection.guest_os_rules`);
    const tables = await readPolicyTables(f.ctx, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES);
    expect(tables.behaviours).toEqual({
      declared: rows.map((r: { rule: unknown }) => r.rule),
      defaults: DEFAULT_BEHAVIOUR_RULES,
    });
    expect(tables.behaviours.declared).toHaveLength(2);
    expect(tables.guestOses).toEqual({ declared: [os.rule], defaults: DEFAULT_GUEST_OS_RULES });
  });
});
