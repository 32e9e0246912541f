import { parseOptions } from './options';

describe('npm run bench options', () => {
  it('defaults to the issue fleet (5,000 hosts, 250,000 guests, 2,000 kernel builds, waves) and 3 runs', () => {
    const o = parseOptions([], {}, '/repo');
    expect(o.fleet).toMatchObject({ hosts: 5000, guests: 250000, kernels: 2000, waves: 10 });
    expect(o.runs).toBe(3);
    expect(o.projectorShards).toBe(1);
    expect(o).toMatchObject({ latencySamples: 400, trickle: 100 });
    expect(o.only).toEqual(['ingest', 'append', 'latency', 'rebuild', 'queries', 'hosts']);
    expect(o.outDir).toBe('/repo/bench/results');
  });

  it('--quick is a small smoke size; flags and env set sizes up to 1M guests', () => {
    expect(parseOptions(['--quick'], {}, '/r').fleet).toMatchObject({ hosts: 40, guests: 2000 });
    expect(parseOptions(['--guests', '1_000_000', '--hosts=20000'], {}, '/r').fleet).toMatchObject({
      hosts: 20000,
      guests: 1000000,
    });
    expect(parseOptions([], { BENCH_GUESTS: '1000', BENCH_RUNS: '5' }, '/r')).toMatchObject({
      fleet: { guests: 1000 },
      runs: 5,
    });
    expect(parseOptions(['--guests', '10', '--only', 'append,rebuild'], { BENCH_GUESTS: '1000' }, '/r')).toMatchObject({
      fleet: { guests: 10 },
      only: ['append', 'rebuild'],
    });
  });

  it('--projector-shards runs the pipeline with one projector process per shard (not the hosts point)', () => {
    expect(parseOptions(['--projector-shards', '2', '--only', 'ingest'], {}, '/r').projectorShards).toBe(2);
    expect(() => parseOptions(['--projector-shards', '2'], {}, '/r')).toThrow('the hosts point runs one projector');
    expect(() => parseOptions(['--projector-shards', '0', '--only', 'ingest'], {}, '/r')).toThrow(
      '--projector-shards must be a whole number from 1 to 64',
    );
  });

  it('rejects what it does not know, with the usage', () => {
    expect(() => parseOptions(['--guests', '1000001'], {}, '/r')).toThrow(
      '--guests must be a whole number from 0 to 1000000',
    );
    expect(() => parseOptions(['--bogus'], {}, '/r')).toThrow(/unknown option --bogus[\s\S]*npm run bench/);
    expect(() => parseOptions(['--only', 'ingest,speed'], {}, '/r')).toThrow('unknown section speed');
    expect(() => parseOptions(['--runs'], {}, '/r')).toThrow('--runs needs a value');
  });
});
