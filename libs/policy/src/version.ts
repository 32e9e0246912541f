/** A Xen version as released: "4.10.4", "4.11.0", "4.17" (= 4.17.0). Anything else is unparseable. */
export type XenVersion = readonly [number, number, number];

const VERSION = /^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?$/;

export function parseXenVersion(text: string | undefined | null): XenVersion | null {
  const m = VERSION.exec((text ?? '').trim());
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])];
}

export function compareXenVersions(a: XenVersion, b: XenVersion): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
