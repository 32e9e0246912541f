import { kafkaSigningKey, signKafkaMessage } from '@fleetcompat/auth';
import { kafkaGroup } from '.';

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env } };
}

describe('fleetcompat kafka sign', () => {
  const value = Buffer.from('{"eventId":"e1"}\n');
  it('prints the header value of the topic, key and value bytes (stdin), with the token of FLEETCOMPAT_TOKEN', async () => {
    const t = io({ FLEETCOMPAT_TOKEN: 'fct_x' });
    expect(await kafkaGroup(['sign', '--topic', 'fleet.placement-acks.v1', '--key', 'h1'], t.io, () => value)).toBe(0);
    expect(t.out.join('')).toBe(
      `${signKafkaMessage(kafkaSigningKey('fct_x'), 'fleet.placement-acks.v1', 'h1', value)}\n`,
    );
  });
  it('a null key without --key; --token wins', async () => {
    const t = io({ FLEETCOMPAT_TOKEN: 'fct_x' });
    await kafkaGroup(['sign', '--topic', 't', '--token', 'fct_y'], t.io, () => value);
    expect(t.out.join('')).toBe(`${signKafkaMessage(kafkaSigningKey('fct_y'), 't', null, value)}\n`);
  });
  it('needs a token', async () => {
    const t = io();
    expect(await kafkaGroup(['sign', '--topic', 't'], t.io, () => value)).toBe(2);
    expect(t.err.join('')).toMatch(/a token is needed/);
  });
});
