import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse } from '@nestjs/swagger';
import { problemJsonSchema } from '@fleetcompat/contract';
import { RoleKind } from '@fleetcompat/auth';

export const ACCESS_RULE = 'fleetcompat:access';

export interface AccessRule {
  /** No token needed. */
  readonly public?: boolean;
  /** Role kinds allowed besides admin (admin may call every route). */
  readonly roles?: readonly RoleKind[];
  /** For host tokens: the route parameter that must equal the token's host id. */
  readonly ownHostParam?: string;
  /** The body is a POST /v1/events body: each event must be one the role may write. */
  readonly events?: boolean;
}

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

/** Who may call a route (admin always may). Routes without it are for admin only. */
export function Access(rule: Omit<AccessRule, 'public'>) {
  return applyDecorators(
    SetMetadata(ACCESS_RULE, rule),
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: 'no token, or an unknown or revoked one', ...problem }),
    ApiResponse({
      status: 403,
      description: `the token's role may not do this (allowed: admin${rule.roles?.length ? ', ' + rule.roles.join(', ') : ''})`,
      ...problem,
    }),
  );
}

/** A route anyone may call, without a token. */
export const Public = () => SetMetadata(ACCESS_RULE, { public: true } satisfies AccessRule);

/** Paths served without a token even when their routes do not say so (probes and metrics). */
export const OPEN_PATHS = /^\/(health|metrics)(\/|$)/;
