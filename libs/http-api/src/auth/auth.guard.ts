import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Authenticator, hostOf, Principal, refusedEvents, roleKind } from '@fleetcompat/auth';
import { ProblemException } from '../problem';
import { ACCESS_RULE, AccessRule, OPEN_PATHS } from './access';

export const AUTHENTICATOR = Symbol('AUTHENTICATOR');

/** The request, once the guard has authenticated it. */
export interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

const unauthorized = (detail: string) =>
  new ProblemException(
    401,
    'unauthorized',
    'Unauthorized',
    detail,
    {},
    { 'WWW-Authenticate': 'Bearer realm="fleetcompat"' },
  );
const forbidden = (detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemException(403, 'forbidden', 'Forbidden', detail, extensions);

/**
 * Every route needs `Authorization: Bearer <token>` unless it is public (@Public(), or a
 * probe/metrics path). 401 when the token is missing, unknown or revoked; 403 when its role
 * may not call the route (@Access), read another host, or write the events in the body.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (rule?.public || (!rule && OPEN_PATHS.test(req.path))) return true;

    const header = req.headers.authorization;
    if (!header) throw unauthorized('this endpoint needs a bearer token: send "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const principal = await this.authenticator.authenticate(m[1]);
    if (!principal) throw unauthorized('the token is unknown or revoked');
    req.principal = principal;

    const kind = roleKind(principal.role);
    if (kind === 'admin') return true;
    if (!rule?.roles?.includes(kind)) throw forbidden(`role ${principal.role} may not ${req.method} ${req.path}`);
    if (kind === 'host' && rule.ownHostParam) {
      const asked = req.params?.[rule.ownHostParam];
      if (asked !== hostOf(principal.role))
        throw forbidden(`role ${principal.role} may read its own host only, not ${String(asked)}`);
    }
    if (rule.events) {
      const items = Array.isArray(req.body) ? req.body : [req.body];
      const refusals = refusedEvents(principal.role, items);
      if (refusals.length)
        throw forbidden(
          `role ${principal.role} may not write ${refusals.length} of the ${items.length} events; none was stored`,
          { refusals },
        );
    }
    return true;
  }
}
