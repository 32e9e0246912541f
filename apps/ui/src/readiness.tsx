import { Readiness } from './api';

/** Why a host may not reboot yet, in words (as GET /v1/hosts lists them). */
export function noGoReasons(r: Readiness, registered: boolean): string[] {
  const why: string[] = [];
  if (!registered) why.push('the host has not registered');
  if (r.guests === 0) why.push('no guests reported');
  if (r.blocked) why.push(`${r.blocked} guest${r.blocked === 1 ? '' : 's'} blocked`);
  const undecided = r.guests - r.decided;
  if (undecided > 0) why.push(`${undecided} guest${undecided === 1 ? '' : 's'} not decided`);
  const unacked = r.decided - r.acknowledged;
  if (unacked > 0) why.push(`${unacked} decision${unacked === 1 ? '' : 's'} not acknowledged by the host`);
  return why;
}
