import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Authenticator, Principal, Role } from '@fleetcompat/auth';
import { ProblemException } from '../problem';
import { ACCESS_RULE, AccessRule } from './access';
import { AuthGuard } from './auth.guard';

const TOKENS: Record<string, Role> = { p: 'planner', c: 'ci', h: 'host:h1', a: 'admin' };
const authenticator = {
  authenticate: async (t: string): Promise<Principal | null> =>
    TOKENS[t] ? { tokenId: t, name: null, role: TOKENS[t] } : null,
} as unknown as Authenticator;

function context(
  rule: AccessRule | undefined,
  req: {
    path?: string;
    method?: string;
    token?: string;
    header?: string;
    params?: Record<string, string>;
    body?: unknown;
  },
) {
  const handler = () => undefined;
  if (rule) Reflect.defineMetadata(ACCESS_RULE, rule, handler);
  const request: any = {
    path: req.path ?? '/v1/x',
    method: req.method ?? 'GET',
    headers:
      req.header !== undefined
        ? { authorization: req.header }
        : req.token
          ? { authorization: `Bearer ${req.token}` }
          : {},
    params: req.params ?? {},
    body: req.body,
  };
  const ctx = {
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { ctx, request };
}

async function outcome(rule: AccessRule | undefined, req: Parameters<typeof context>[1]): Promise<number> {
  const { ctx } = context(rule, req);
  try {
    await new AuthGuard(new Reflector(), authenticator).canActivate(ctx);
    return 200;
  } catch (e) {
    if (e instanceof ProblemException) return e.status;
    throw e;
  }
}

describe('AuthGuard', () => {
  it('lets public routes and probe paths through without a token', async () => {
    expect(await outcome({ public: true }, {})).toBe(200);
    expect(await outcome(undefined, { path: '/health/ready' })).toBe(200);
    expect(await outcome(undefined, { path: '/metrics' })).toBe(200);
    expect(await outcome(undefined, { path: '/healthz' })).toBe(401);
  });

  it('401 without a token, with a malformed header, with an unknown token; sets WWW-Authenticate', async () => {
    expect(await outcome({ roles: ['planner'] }, {})).toBe(401);
    expect(await outcome({ roles: ['planner'] }, { header: 'Basic abc' })).toBe(401);
    expect(await outcome({ roles: ['planner'] }, { token: 'nope' })).toBe(401);
    const { ctx } = context({ roles: ['planner'] }, {});
    const err = await new AuthGuard(new Reflector(), authenticator).canActivate(ctx).catch((e) => e);
    expect(err.headers['WWW-Authenticate']).toMatch(/^Bearer/);
  });

  it('403 when the role is not listed; admin always passes; routes without a rule are admin only', async () => {
    expect(await outcome({ roles: ['planner'] }, { token: 'p' })).toBe(200);
    expect(await outcome({ roles: ['planner'] }, { token: 'c' })).toBe(403);
    expect(await outcome({ roles: [] }, { token: 'a' })).toBe(200);
    expect(await outcome(undefined, { token: 'p', path: '/v1/other' })).toBe(403);
    expect(await outcome(undefined, { token: 'a', path: '/v1/other' })).toBe(200);
  });

  it('a host reads its own host only', async () => {
    const rule: AccessRule = { roles: ['planner', 'host'], ownHostParam: 'hostId' };
    expect(await outcome(rule, { token: 'h', params: { hostId: 'h1' } })).toBe(200);
    expect(await outcome(rule, { token: 'h', params: { hostId: 'h2' } })).toBe(403);
    expect(await outcome(rule, { token: 'p', params: { hostId: 'h2' } })).toBe(200);
  });

  it('checks each event of a POST /v1/events body against the role', async () => {
    const rule: AccessRule = { roles: ['ci', 'host'], events: true };
    const kernel = { eventId: 'k', type: 'KernelBuildCompleted', data: {} };
    const guest = (hostId: string) => ({ eventId: 'g', type: 'GuestObserved', data: { hostId } });
    expect(await outcome(rule, { token: 'c', method: 'POST', body: kernel })).toBe(200);
    expect(await outcome(rule, { token: 'c', method: 'POST', body: [kernel, guest('h1')] })).toBe(403);
    expect(await outcome(rule, { token: 'h', method: 'POST', body: [guest('h1')] })).toBe(200);
    expect(await outcome(rule, { token: 'h', method: 'POST', body: [guest('h1'), guest('h2')] })).toBe(403);
    expect(await outcome(rule, { token: 'a', method: 'POST', body: [guest('h9')] })).toBe(200);
  });

  it('puts the caller on the request', async () => {
    const { ctx, request } = context({ roles: ['planner'] }, { token: 'p' });
    await new AuthGuard(new Reflector(), authenticator).canActivate(ctx);
    expect(request.principal).toEqual({ tokenId: 'p', name: null, role: 'planner' });
  });
});
