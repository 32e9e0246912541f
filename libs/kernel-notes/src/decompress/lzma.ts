import { fail } from '../errors';
import { BoundedOutput } from './output';

/*
 * An LZMA decoder (the algorithm of Igor Pavlov's LzmaSpec), used for the legacy .lzma
 * ("alone") format and, through LZMA2, for .xz. The output buffer is the dictionary: the
 * whole decompressed image is kept anyway, so no circular window is needed. Every read of
 * input is bounds-checked and every loop consumes input or produces bounded output.
 */

const kNumStates = 12;
const kNumPosBitsMax = 4;
const kEndPosModelIndex = 14;
const kNumFullDistances = 128;
const kNumAlignBits = 4;
const kMatchMinLen = 2;
const PROB_INIT = 1024;

class RangeDecoder {
  range = 0;
  code = 0;
  pos = 0;
  end = 0;

  constructor(private readonly input: Uint8Array) {}

  /** Starts decoding at `start`; the coded data must end by `end`. */
  init(start: number, end: number): void {
    this.pos = start;
    this.end = end;
    if (end - start < 5) fail('truncated', 'lzma: range coder data is truncated');
    if (this.input[this.pos++] !== 0) fail('corrupt-data', 'lzma: bad range coder start byte');
    this.range = 0xffffffff;
    let code = 0;
    for (let i = 0; i < 4; i++) code = ((code << 8) | this.input[this.pos++]) >>> 0;
    this.code = code;
    if (code === this.range) fail('corrupt-data', 'lzma: bad range coder state');
  }

  private next(): number {
    if (this.pos >= this.end) fail('truncated', 'lzma: compressed data is truncated');
    return this.input[this.pos++];
  }

  finishedOk(): boolean {
    return this.code === 0;
  }

  bit(probs: Uint16Array, i: number): number {
    const p = probs[i];
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = p - (p >>> 5);
      b = 1;
    }
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code * 256) + this.next()) >>> 0;
    }
    return b;
  }

  direct(numBits: number): number {
    let res = 0;
    for (let i = 0; i < numBits; i++) {
      this.range = this.range >>> 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      res = res * 2 + b;
      if (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.code = ((this.code * 256) + this.next()) >>> 0;
      }
    }
    if (this.code >= this.range) fail('corrupt-data', 'lzma: bad range coder state');
    return res;
  }

  tree(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    for (let i = 0; i < numBits; i++) m = (m << 1) + this.bit(probs, base + m);
    return m - (1 << numBits);
  }

  reverse(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < numBits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) + b;
      sym |= b << i;
    }
    return sym;
  }
}

class LenDecoder {
  choice = new Uint16Array(2);
  low = new Uint16Array(16 << 3);
  mid = new Uint16Array(16 << 3);
  high = new Uint16Array(256);

  reset(): void {
    this.choice.fill(PROB_INIT);
    this.low.fill(PROB_INIT);
    this.mid.fill(PROB_INIT);
    this.high.fill(PROB_INIT);
  }

  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return rc.tree(this.low, posState << 3, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + rc.tree(this.mid, posState << 3, 3);
    return 16 + rc.tree(this.high, 0, 8);
  }
}

export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

export function parsePropsByte(d: number): LzmaProps {
  if (d >= 9 * 5 * 5) fail('corrupt-data', 'lzma: bad properties byte');
  const lc = d % 9;
  d = (d / 9) | 0;
  return { lc, lp: d % 5, pb: (d / 5) | 0 };
}

/** The LZMA decoder state. LZMA2 keeps one across chunks and resets parts of it. */
export class LzmaDecoder {
  readonly rc: RangeDecoder;
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private literal = new Uint16Array(0x300);
  private isMatch = new Uint16Array(kNumStates << kNumPosBitsMax);
  private isRep = new Uint16Array(kNumStates);
  private isRepG0 = new Uint16Array(kNumStates);
  private isRepG1 = new Uint16Array(kNumStates);
  private isRepG2 = new Uint16Array(kNumStates);
  private isRep0Long = new Uint16Array(kNumStates << kNumPosBitsMax);
  private posSlot = new Uint16Array(4 << 6);
  private posDecoders = new Uint16Array(1 + kNumFullDistances - kEndPosModelIndex);
  private align = new Uint16Array(1 << kNumAlignBits);
  private lenDec = new LenDecoder();
  private repLenDec = new LenDecoder();
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  /** Start of the current dictionary in the output (LZMA2 dictionary resets move it). */
  dictStart = 0;

  constructor(
    input: Uint8Array,
    readonly out: BoundedOutput,
  ) {
    this.rc = new RangeDecoder(input);
  }

  setProps(p: LzmaProps): void {
    this.lc = p.lc;
    this.lp = p.lp;
    this.pb = p.pb;
    const n = 0x300 << (p.lc + p.lp);
    if (this.literal.length !== n) this.literal = new Uint16Array(n);
  }

  resetState(): void {
    this.literal.fill(PROB_INIT);
    this.isMatch.fill(PROB_INIT);
    this.isRep.fill(PROB_INIT);
    this.isRepG0.fill(PROB_INIT);
    this.isRepG1.fill(PROB_INIT);
    this.isRepG2.fill(PROB_INIT);
    this.isRep0Long.fill(PROB_INIT);
    this.posSlot.fill(PROB_INIT);
    this.posDecoders.fill(PROB_INIT);
    this.align.fill(PROB_INIT);
    this.lenDec.reset();
    this.repLenDec.reset();
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  /**
   * Decodes until `size` bytes are out (size >= 0) or, with size < 0, until the end marker.
   * Returns true when it stopped at an end marker.
   */
  decode(size: number, allowMarker: boolean): boolean {
    const rc = this.rc;
    const out = this.out;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    const target = size >= 0 ? out.pos + size : -1;
    if (target > out.limit) out.tooLarge();
    for (;;) {
      if (target >= 0 && out.pos === target) return false;
      const dictPos = out.pos - this.dictStart;
      const posState = dictPos & pbMask;
      let state = this.state;
      if (rc.bit(this.isMatch, (state << kNumPosBitsMax) + posState) === 0) {
        // literal
        out.ensure(1);
        const buf = out.buf;
        const prev = dictPos > 0 ? buf[out.pos - 1] : 0;
        const base = 0x300 * (((dictPos & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        const probs = this.literal;
        if (state >= 7) {
          if (this.rep0 >= dictPos) fail('corrupt-data', 'lzma: match distance past the start of the data');
          let matchByte = buf[out.pos - this.rep0 - 1];
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const b = rc.bit(probs, base + ((1 + matchBit) << 8) + sym);
            sym = (sym << 1) | b;
            if (matchBit !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) sym = (sym << 1) | rc.bit(probs, base + sym);
        buf[out.pos++] = sym - 0x100;
        this.state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let len: number;
      if (rc.bit(this.isRep, state) !== 0) {
        if (dictPos === 0) fail('corrupt-data', 'lzma: repeated match at the start of the data');
        if (rc.bit(this.isRepG0, state) === 0) {
          if (rc.bit(this.isRep0Long, (state << kNumPosBitsMax) + posState) === 0) {
            this.state = state < 7 ? 9 : 11;
            if (this.rep0 >= dictPos) fail('corrupt-data', 'lzma: match distance past the start of the data');
            out.ensure(1);
            out.buf[out.pos] = out.buf[out.pos - this.rep0 - 1];
            out.pos++;
            continue;
          }
        } else {
          let dist: number;
          if (rc.bit(this.isRepG1, state) === 0) {
            dist = this.rep1;
          } else {
            if (rc.bit(this.isRepG2, state) === 0) {
              dist = this.rep2;
            } else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.repLenDec.decode(rc, posState);
        this.state = state < 7 ? 8 : 11;
      } else {
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        len = this.lenDec.decode(rc, posState);
        this.state = state < 7 ? 7 : 10;
        const dist = this.decodeDistance(len);
        if (dist === 0xffffffff) {
          if (!allowMarker) fail('corrupt-data', 'lzma: unexpected end marker');
          if (!rc.finishedOk()) fail('corrupt-data', 'lzma: bad range coder state at the end marker');
          return true;
        }
        this.rep0 = dist;
      }
      len += kMatchMinLen;
      const dist = this.rep0;
      if (dist >= out.pos - this.dictStart) fail('corrupt-data', 'lzma: match distance past the start of the data');
      if (target >= 0 && out.pos + len > target) fail('corrupt-data', 'lzma: match runs past the declared size');
      out.ensure(len);
      const buf = out.buf;
      let src = out.pos - dist - 1;
      let dst = out.pos;
      const end = dst + len;
      while (dst < end) buf[dst++] = buf[src++];
      out.pos = end;
    }
  }

  private decodeDistance(len: number): number {
    const rc = this.rc;
    const lenState = len > 3 ? 3 : len;
    const posSlot = rc.tree(this.posSlot, lenState << 6, 6);
    if (posSlot < 4) return posSlot;
    const numDirectBits = (posSlot >>> 1) - 1;
    let dist = (2 | (posSlot & 1)) * 2 ** numDirectBits;
    if (posSlot < kEndPosModelIndex) {
      dist += rc.reverse(this.posDecoders, dist - posSlot, numDirectBits);
    } else {
      dist += rc.direct(numDirectBits - kNumAlignBits) * 16;
      dist += rc.reverse(this.align, 0, kNumAlignBits);
    }
    return dist;
  }
}

/**
 * The legacy .lzma format: props byte, u32 dictionary size, u64 uncompressed size (all ones:
 * unknown, ended by a marker), then the range-coded data.
 */
export function decompressLzma(input: Uint8Array, maxOutput: number): Uint8Array {
  if (input.length < 13) fail('truncated', 'lzma: header is truncated');
  const props = parsePropsByte(input[0]);
  let known = true;
  let size = 0;
  for (let i = 0; i < 8; i++) {
    if (input[5 + i] !== 0xff) known = false;
  }
  if (known) {
    size = -1;
  } else {
    for (let i = 7; i >= 0; i--) size = size * 256 + input[5 + i];
    if (size > maxOutput) fail('too-large', `lzma: declared size ${size} exceeds the limit of ${maxOutput} bytes`);
  }
  const out = new BoundedOutput(maxOutput, 'lzma', size > 0 ? size : 1 << 20);
  const dec = new LzmaDecoder(input, out);
  dec.setProps(props);
  dec.resetState();
  dec.rc.init(13, input.length);
  if (size < 0) {
    dec.decode(-1, true);
  } else {
    dec.decode(size, false);
  }
  return out.result();
}
