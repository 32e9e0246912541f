import { dashboardFleetFixture, ReadFixture } from '../../test/read-fixture';
import { listAttention } from './attention';
import { readAttentionFacets } from './attention-facets';

describe('readAttentionFacets (real Postgres, the dashboard fleet projected)', () => {
  let f: ReadFixture;
  beforeAll(async () => (f = await dashboardFleetFixture('attention_facets')));
  afterAll(() => f?.close());

  it('counts the guests that need attention per kind and per reason, as the list shows them', async () => {
    const facets = await readAttentionFacets(f.ctx, {});
    expect(facets).toEqual({
      total: 4,
      kinds: { blocked: 1, override: 1, 'unknown-kernel': 2 },
      reasons: { 'high-rsdp-without-override': 1, 'override-low-required': 1, 'toolstack-places-low': 2 },
    });
    const { items } = await listAttention(f.ctx, { limit: 1000 });
    expect(items.length).toBe(facets.total);
    for (const kind of ['blocked', 'override', 'unknown-kernel'] as const)
      expect(items.filter((i) => i.kinds.includes(kind)).length).toBe(facets.kinds[kind]);
  });

  it('applies the wave, host and label filters but not the kind and reason (the counts of the other choices)', async () => {
    expect(await readAttentionFacets(f.ctx, { kind: 'blocked', reason: 'override-low-required' })).toEqual(
      await readAttentionFacets(f.ctx, {}),
    );
    expect(await readAttentionFacets(f.ctx, { waveId: 'w1' })).toEqual({
      total: 2,
      kinds: { blocked: 0, override: 1, 'unknown-kernel': 1 },
      reasons: { 'override-low-required': 1, 'toolstack-places-low': 1 },
    });
    expect(await readAttentionFacets(f.ctx, { hostId: 'h2', labels: { rack: 'r2' } })).toEqual({
      total: 2,
      kinds: { blocked: 1, override: 0, 'unknown-kernel': 1 },
      reasons: { 'high-rsdp-without-override': 1, 'toolstack-places-low': 1 },
    });
    expect(await readAttentionFacets(f.ctx, { hostId: 'h4' })).toEqual({
      total: 0,
      kinds: { blocked: 0, override: 0, 'unknown-kernel': 0 },
      reasons: {},
    });
  });
});
