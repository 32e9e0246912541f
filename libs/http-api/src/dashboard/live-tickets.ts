import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal, TokenStore } from '@fleetcompat/auth';

/** How long a ticket may wait before it opens a stream. */
export const LIVE_TICKET_TTL_MS = 60_000;

const PREFIX = 'lt1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ticket key of a token, from the sha256 of the token (what access_tokens stores). */
function ticketKey(tokenSha256: Buffer): Buffer {
  return createHmac('sha256', tokenSha256).update('fleetcompat live ticket v1').digest();
}

function mac(key: Buffer, tokenId: string, expires: number): Buffer {
  return createHmac('sha256', key).update(`${tokenId}.${expires}`).digest();
}

/**
 * Tickets for the live stream (GET /v1/live?ticket=): a browser's EventSource cannot send an
 * Authorization header, and a bearer token in a URL would be written down by whatever logs
 * URLs (access logs, proxies, the browser's history). A ticket is made by an authenticated
 * POST for the caller's own token and says `lt1.<tokenId>.<expires>.<mac>`: the MAC is an
 * HMAC-SHA256 keyed by the token's sha256 (the hash access_tokens keeps; the bootstrap
 * token's from the environment), so any API process of the deployment can check it against
 * the token store, a revoked token's tickets stop working at once, and a ticket can neither
 * be made without the token nor turned back into it. It is good for LIVE_TICKET_TTL_MS and
 * opens one stream per API process (each remembers the tickets it took until they expire).
 */
export class LiveTickets {
  private readonly bootstrapHash: Buffer | null;
  private readonly used = new Map<string, number>();

  constructor(
    private readonly tokens: Pick<TokenStore, 'active'>,
    bootstrapToken: string | null | undefined,
    private readonly ttlMs = LIVE_TICKET_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.bootstrapHash = bootstrapToken ? createHash('sha256').update(bootstrapToken, 'utf8').digest() : null;
  }

  /** A ticket for the caller's token (the bearer secret it authenticated with). */
  issue(principal: Principal, bearer: string): { ticket: string; expiresAt: string } {
    const expires = this.now() + this.ttlMs;
    const key = ticketKey(createHash('sha256').update(bearer, 'utf8').digest());
    const ticket = `${PREFIX}.${principal.tokenId}.${expires}.${mac(key, principal.tokenId, expires).toString('base64url')}`;
    return { ticket, expiresAt: new Date(expires).toISOString() };
  }

  /** The caller a ticket stands for, or null: malformed, expired, already used here, forged, or its token unknown or revoked. */
  async redeem(ticket: string): Promise<Principal | null> {
    const parts = typeof ticket === 'string' && ticket.length <= 200 ? ticket.split('.') : [];
    if (parts.length !== 4 || parts[0] !== PREFIX) return null;
    const [, tokenId, expiresText, macText] = parts;
    const expires = Number(expiresText);
    const now = this.now();
    if (!/^\d{1,15}$/.test(expiresText) || expires <= now || expires > now + this.ttlMs + 5000) return null;
    this.forgetExpired(now);
    if (this.used.has(ticket)) return null;
    let principal: Principal | null = null;
    let hash: Buffer | null = null;
    if (tokenId === 'bootstrap') {
      if (!this.bootstrapHash) return null;
      hash = this.bootstrapHash;
      principal = { tokenId: 'bootstrap', name: 'FLEETCOMPAT_BOOTSTRAP_TOKEN', role: 'admin' };
    } else {
      if (!UUID.test(tokenId)) return null;
      const token = await this.tokens.active(tokenId);
      if (!token) return null;
      hash = Buffer.from(token.tokenSha256, 'hex');
      principal = token.principal;
    }
    const given = Buffer.from(macText, 'base64url');
    const want = mac(ticketKey(hash), tokenId, expires);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    if (this.used.has(ticket)) return null; // redeemed meanwhile
    this.used.set(ticket, expires);
    return principal;
  }

  private forgetExpired(now: number): void {
    if (this.used.size < 256) return;
    for (const [t, expires] of this.used) if (expires <= now) this.used.delete(t);
  }
}
