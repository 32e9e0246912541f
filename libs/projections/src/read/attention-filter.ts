import { hostSelectorSql } from './host-selection';

/** Why a guest needs the planner's attention. */
export const ATTENTION_KINDS = ['blocked', 'override', 'unknown-kernel'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

/** Which guests that need attention: all given parts must match. */
export interface AttentionFilter {
  readonly kind?: AttentionKind;
  /** The current decision's reason code. */
  readonly reason?: string;
  readonly waveId?: string;
  readonly hostId?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The condition of the attention rows over g (guests), d (their current decisions) and h (their
 * hosts), values appended to `params`: present guests that are blocked, of an unknown kernel,
 * or decided override-low; under the host filters, and the kind and reason when
 * `withKindAndReason`. Kept in step with attentionKinds.
 */
export function attentionWhereSql(filter: AttentionFilter, params: unknown[], withKindAndReason: boolean): string {
  const where = [
    'g.present',
    hostSelectorSql({ hostId: filter.hostId, labels: filter.labels, waveId: filter.waveId }, params),
  ];
  const override = `(g.status IN ('needs-low-rsdp', 'unknown-kernel') AND d.message->>'action' = 'override-low')`;
  if (withKindAndReason && filter.kind === 'blocked') where.push(`g.status = 'blocked'`);
  else if (withKindAndReason && filter.kind === 'unknown-kernel') where.push(`g.status = 'unknown-kernel'`);
  else if (withKindAndReason && filter.kind === 'override') where.push(override);
  else where.push(`(g.status IN ('blocked', 'unknown-kernel') OR ${override})`);
  if (withKindAndReason && filter.reason) {
    params.push(filter.reason);
    where.push(`d.message->>'reason' = $${params.length}`);
  }
  return where.join(' AND ');
}

/** The kinds of attention a guest of this status and current decision action needs (a guest may be of two: unknown kernel and override). */
export function attentionKinds(status: string, action: string | null): AttentionKind[] {
  const kinds: AttentionKind[] = [];
  if (status === 'blocked') kinds.push('blocked');
  if (action === 'override-low') kinds.push('override');
  if (status === 'unknown-kernel') kinds.push('unknown-kernel');
  return kinds;
}
