declare module 'seek-bzip' {
  interface InStream {
    readByte(): number;
    read(buffer: Uint8Array, off: number, len: number): number;
    seek(pos: number): void;
    eof(): boolean;
  }
  interface OutStream {
    writeByte(b: number): void;
  }
  const Bunzip: {
    decode(input: InStream | Uint8Array, output?: OutStream | Uint8Array | number, multistream?: boolean): unknown;
  };
  export = Bunzip;
}
