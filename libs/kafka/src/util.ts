/** Exponential backoff: initial * 2^(attempt-1), capped. `attempt` starts at 1. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const exp = initialMs * Math.pow(2, Math.max(0, attempt - 1));
  return Math.min(maxMs, Number.isFinite(exp) ? exp : maxMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
