// Words and colours for the codes the API answers with.

export const STATUSES = [
  'ok',
  'needs-low-rsdp',
  'unknown-kernel',
  'blocked',
  'not-applicable',
  'awaiting-host',
] as const;

/** Colours with at least 4.5:1 contrast against white text (badges) and against the white page (chart bars). */
export const STATUS_COLOR: Record<string, string> = {
  ok: '#1a7f37',
  'needs-low-rsdp': '#8a5a00',
  'unknown-kernel': '#6f42c1',
  blocked: '#cf222e',
  'not-applicable': '#57606a',
  'awaiting-host': '#0550ae',
};

export const STATUS_LABEL: Record<string, string> = {
  ok: 'OK',
  'needs-low-rsdp': 'Needs a low RSDP',
  'unknown-kernel': 'Unknown kernel',
  blocked: 'Blocked',
  'not-applicable': 'Not applicable (HVM, PV)',
  'awaiting-host': 'Awaiting host registration',
  removed: 'Removed',
};

export const STATUS_HELP: Record<string, string> = {
  ok: 'boots as decided, nothing to do',
  'needs-low-rsdp': 'the kernel needs the RSDP below 1 MiB; the toolstack places it there, or the host forces it',
  'unknown-kernel': 'the kernel was never announced by CI (or was revoked): its needs are assumed',
  blocked: 'will not boot after the upgrade as things stand',
  'not-applicable': 'HVM and PV guests: no RSDP placement to decide',
  'awaiting-host': 'the host has not registered yet',
};

/** The rule that fired, in words. */
export const REASON_TEXT: Record<string, string> = {
  'guest-not-pvh': 'Not a PVH guest (HVM or PV): the RSDP placement does not apply.',
  'kernel-not-pvh-capable': 'The kernel cannot boot as PVH: its Xen notes carry no PHYS32_ENTRY.',
  'toolstack-places-low': 'The toolstack places the RSDP low, which boots any kernel.',
  'kernel-handles-high-rsdp': 'The kernel copes with a high RSDP.',
  'override-low-required':
    'The kernel needs a low RSDP, the toolstack would place it high: the host must force it low (override).',
  'high-rsdp-without-override':
    'The kernel needs a low RSDP, the toolstack places it high and the host cannot force it low: the guest will not boot.',
};

export const REASON_SHORT: Record<string, string> = {
  'guest-not-pvh': 'not PVH',
  'kernel-not-pvh-capable': 'kernel cannot boot as PVH',
  'toolstack-places-low': 'toolstack places low',
  'kernel-handles-high-rsdp': 'kernel copes with high',
  'override-low-required': 'override to low required',
  'high-rsdp-without-override': 'high RSDP, no override',
};

/** Why the kernel needs the RSDP where it does. */
export const NEED_TEXT: Record<string, string> = {
  'kernel-has-rsdp-unrestricted': 'its SUPPORTED_FEATURES has XENFEAT_linux_rsdp_unrestricted (bit 15)',
  'guest-os-copes-with-high-rsdp': 'its GUEST_OS is known to cope with a high RSDP',
  'kernel-lacks-rsdp-unrestricted':
    'a Linux kernel without XENFEAT_linux_rsdp_unrestricted (bit 15): it scans below 1 MiB for the RSDP',
  'guest-os-not-known-to-cope': 'its GUEST_OS is not known to cope with a high RSDP',
  'kernel-has-no-guest-os': 'its Xen notes have no GUEST_OS and no bit 15',
  'kernel-has-no-xen-notes': 'the image has no Xen notes',
  'kernel-unknown': 'the kernel is unknown (never announced by CI, or revoked)',
};

export const KIND_LABEL: Record<string, string> = {
  blocked: 'Blocked',
  override: 'Override needed',
  'unknown-kernel': 'Unknown kernel',
};

export const OUTCOME_LABEL: Record<string, string> = {
  fine: 'Fine',
  'override-low': 'Override to low',
  blocked: 'Blocked',
  'not-applicable': 'Not applicable',
};

const nf = new Intl.NumberFormat('en-US');
export const n = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : nf.format(v));

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d{3}Z$/, ' UTC');
}

export const shortSha = (sha: string | null | undefined): string => (sha ? `${sha.slice(0, 12)}…` : '–');

export function labelsText(labels: Record<string, string> | null | undefined): string {
  const e = Object.entries(labels ?? {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(', ') : '–';
}

/** "rack=r1, pool=general" → { rack: 'r1', pool: 'general' } (null when malformed). */
export function parseLabels(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 1) return null;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
