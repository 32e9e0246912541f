import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { ProblemException } from '../problem';

/** Rate of what-if calls, counted per token (per address for a caller without one). */
@Injectable()
export class WhatIfThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: { principal?: { tokenId?: string }; ip?: string }): Promise<string> {
    return req.principal?.tokenId ? `token:${req.principal.tokenId}` : `ip:${req.ip}`;
  }

  protected override async throwThrottlingException(_ctx: ExecutionContext, d: ThrottlerLimitDetail): Promise<void> {
    throw new ProblemException(
      429,
      'rate-limited',
      'Too many requests',
      `at most ${d.limit} what-if calls per ${Math.round(d.ttl / 1000)} s per token; retry after ${d.timeToBlockExpire} s`,
      { limit: d.limit, windowSeconds: Math.round(d.ttl / 1000), retryAfterSeconds: d.timeToBlockExpire },
      { 'Retry-After': String(d.timeToBlockExpire) },
    );
  }
}
