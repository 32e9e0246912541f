import { decodeKey, encodeKey } from './cursor';
import { decodeCursor, encodeCursor } from './guests';

describe('keyset cursors', () => {
  it('round-trip their parts, and are the guest list cursor', () => {
    expect(decodeKey(encodeKey(['g1', 'h1']), 2)).toEqual(['g1', 'h1']);
    expect(decodeKey(encodeKey(['h1']), 1)).toEqual(['h1']);
    expect(encodeCursor('g1', 'h1')).toBe(encodeKey(['g1', 'h1']));
    expect(decodeCursor(encodeKey(['g1', 'h1']))).toEqual(['g1', 'h1']);
  });

  it('a cursor not of ours, or with another number of parts, decodes to null (the guest list: after every view of that guest)', () => {
    expect(decodeKey('h1', 1)).toBeNull();
    expect(decodeKey(encodeKey(['g1', 'h1']), 1)).toBeNull();
    expect(decodeKey(Buffer.from('[1,2]').toString('base64url'), 2)).toBeNull();
    expect(decodeCursor('g1')).toEqual(['g1', '\u{10FFFF}']);
  });
});
