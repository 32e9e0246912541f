import type { ComponentChildren } from 'preact';
import { ApiError } from './api';
import { n, STATUS_LABEL } from './format';
import { href } from './router';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

export function GoBadge({ go, testId }: { go: boolean; testId?: string }) {
  return (
    <span class={`badge ${go ? 'go' : 'nogo'}`} data-testid={testId} data-value={go ? 'go' : 'no-go'}>
      {go ? 'GO' : 'NO-GO'}
    </span>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  const e = error as ApiError;
  const text =
    e?.status === 403
      ? `This token may not see this (${e.detail}).`
      : e?.status === 404
        ? `Not found: ${e.detail}.`
        : e?.status === 429
          ? `Too many calls for now${e.retryAfterSeconds ? `: try again in ${e.retryAfterSeconds} s` : ''}.`
          : `${e?.detail ?? String(error)}`;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A number with its exact value in data-value (what tests compare with the API). */
export function Num({ value, testId }: { value: number | null | undefined; testId?: string }) {
  return (
    <span data-testid={testId} data-value={value ?? ''}>
      {n(value)}
    </span>
  );
}

export function Stat({
  label,
  value,
  testId,
  tone,
  help,
}: {
  label: string;
  value: number;
  testId: string;
  tone?: string;
  help?: string;
}) {
  return (
    <div class={`stat ${tone ?? ''}`}>
      <div class="stat-value">
        <Num value={value} testId={testId} />
      </div>
      <div class="stat-label">{label}</div>
      {help && <div class="stat-help">{help}</div>}
    </div>
  );
}

export function Section({
  title,
  children,
  id,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
  actions?: ComponentChildren;
}) {
  const hid = id ? `${id}-title` : undefined;
  return (
    <section class="card" aria-labelledby={hid} id={id}>
      <div class="card-head">
        <h2 id={hid}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Pager({
  page,
  hasPrev,
  hasNext,
  onPrev,
  onNext,
  label,
}: {
  page: number;
  hasPrev: boolean;
  hasNext: boolean;
  onPrev: () => void;
  onNext: () => void;
  label: string;
}) {
  if (!hasPrev && !hasNext) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" onClick={onPrev} disabled={!hasPrev}>
        Previous page
      </button>
      <span>Page {page}</span>
      <button type="button" onClick={onNext} disabled={!hasNext} data-testid="next-page">
        Next page
      </button>
    </nav>
  );
}

export const GuestLink = ({
  guestId,
  hostId,
  linked = true,
}: {
  guestId: string;
  hostId?: string;
  linked?: boolean;
}) =>
  linked ? (
    <a href={href('guest', guestId, hostId ? { host: hostId } : undefined)}>{guestId}</a>
  ) : (
    <span>{guestId}</span>
  );

export const HostLink = ({ hostId, linked = true }: { hostId: string; linked?: boolean }) =>
  linked ? <a href={href('host', hostId)}>{hostId}</a> : <span>{hostId}</span>;

/** Shown where a role may not see a page. */
export function NotForRole({ role, what }: { role: string; what: string }) {
  return (
    <div class="card">
      <h1>{what}</h1>
      <p>This token's role ({role}) may not see this page.</p>
    </div>
  );
}
