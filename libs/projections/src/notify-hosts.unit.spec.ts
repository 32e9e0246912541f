import { notifiedHosts } from './notify-hosts';

describe('the hosts a fleetcompat_projection notification names', () => {
  it('names the hosts of a batch; an empty, missing or unknown payload means any host', () => {
    expect(notifiedHosts('{"hosts":["h1","h2"]}')).toEqual(['h1', 'h2']);
    expect(notifiedHosts('{"hosts":[]}')).toEqual([]);
    for (const p of [undefined, '', 'x', '{"hosts":[1]}', '{"other":true}', '{not json'])
      expect(notifiedHosts(p)).toBeNull();
  });
});
