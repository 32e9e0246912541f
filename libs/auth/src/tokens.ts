import { hash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { signingKeyFromTokenHash } from './kafka-signature';
import { parseRole, Principal, Role } from './roles';

/** Anything that runs SQL (a TypeORM DataSource, EntityManager or QueryRunner). */
export interface Queryable {
  /** The rows (or, for some statements, TypeORM's result): their type is the caller's to say. */
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

export const TOKEN_PREFIX = 'fct_';

/** A new secret: `fct_` and 32 random bytes, base64url. */
export function newSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

export interface TokenInfo {
  readonly id: string;
  readonly name: string | null;
  readonly role: Role;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

/** A row of `access_tokens` as pg returns it (timestamptz as a Date). */
interface TokenDbRow {
  readonly id: string;
  readonly name: string | null;
  readonly role: string;
  readonly created_at: Date | string;
  readonly revoked_at: Date | string | null;
  readonly token_sha256: string;
}

function infoFromDb(r: TokenDbRow): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    createdAt: iso(r.created_at),
    revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  };
}

/**
 * Bearer tokens in the `access_tokens` table. Only the sha256 of a token is stored: the
 * secret is shown once, when it is created, and cannot be read back.
 */
export class TokenStore {
  constructor(private readonly db: Queryable) {}

  /** Creates a token; the secret is returned here only. */
  async create(role: string, name?: string | null): Promise<{ token: string; info: TokenInfo }> {
    const parsed = parseRole(role);
    if (!parsed) throw new Error(`unknown role "${role}": planner, ci, admin or host:<hostId>`);
    const token = newSecret();
    const id = randomUUID();
    const rows = await this.db.query<TokenDbRow[]>(
      `INSERT INTO access_tokens (id, name, role, token_sha256) VALUES ($1, $2, $3, $4) RETURNING id, name, role, created_at, revoked_at`,
      [id, name ?? null, parsed, sha256Hex(token)],
    );
    return { token, info: infoFromDb(rows[0]) };
  }

  /** Revokes a token; false when there is no such token (or it was revoked already). */
  async revoke(id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
    // A CTE so that every driver answers with plain rows (TypeORM wraps an UPDATE's result).
    const rows = await this.db.query<{ id: string }[]>(
      `WITH u AS (UPDATE access_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id) SELECT id FROM u`,
      [id],
    );
    return rows.length > 0;
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<TokenInfo[]> {
    const rows = await this.db.query<TokenDbRow[]>(
      `SELECT id, name, role, created_at, revoked_at FROM access_tokens ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, id`,
    );
    return rows.map((r) => infoFromDb(r));
  }

  /** The caller a secret stands for, or null (unknown or revoked). */
  async verify(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
    const rows = await this.db.query<Pick<TokenDbRow, 'id' | 'name' | 'role'>[]>(
      `SELECT id, name, role FROM access_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL`,
      [sha256Hex(token)],
    );
    if (!rows.length) return null;
    const role = parseRole(rows[0].role);
    return role ? { tokenId: rows[0].id, name: rows[0].name, role } : null;
  }

  /** A token not revoked, by id, with the sha256 access_tokens keeps of it (what live tickets are keyed by); null when unknown or revoked. */
  async active(id: string): Promise<{ principal: Principal; tokenSha256: string } | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const rows = await this.db.query<Pick<TokenDbRow, 'id' | 'name' | 'role' | 'token_sha256'>[]>(
      `SELECT id, name, role, token_sha256 FROM access_tokens WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    const role = rows[0] ? parseRole(rows[0].role) : null;
    if (!role || !/^[0-9a-f]{64}$/.test(rows[0].token_sha256)) return null;
    return { principal: { tokenId: rows[0].id, name: rows[0].name, role }, tokenSha256: rows[0].token_sha256 };
  }

  /**
   * The tokens (not revoked) whose Kafka key ids (kafka-signature.ts: hex of sha256 of the
   * stored hash) are among `keyIds`, with their signing keys: one indexed query.
   */
  async kafkaKeys(keyIds: readonly string[]): Promise<Map<string, KafkaKeyEntry>> {
    const found = new Map<string, KafkaKeyEntry>();
    const ids = [...new Set(keyIds)].filter((k) => /^[0-9a-f]{64}$/.test(k));
    if (!ids.length) return found;
    const rows = await this.db.query<Pick<TokenDbRow, 'id' | 'name' | 'role' | 'token_sha256'>[]>(
      `SELECT id, name, role, token_sha256 FROM access_tokens WHERE encode(sha256(decode(token_sha256, 'hex')), 'hex') = ANY($1::text[]) AND revoked_at IS NULL`,
      [ids],
    );
    for (const r of rows) {
      const role = parseRole(r.role);
      if (!role) continue;
      const signing = signingKeyFromTokenHash(r.token_sha256);
      found.set(signing.keyId, { principal: { tokenId: r.id, name: r.name, role }, key: signing.key });
    }
    return found;
  }
}

/** A token as the Kafka ingest knows it: who it stands for and its HMAC key. */
export interface KafkaKeyEntry {
  readonly principal: Principal;
  readonly key: Buffer;
}

/** Checks a bearer token: the bootstrap token (an admin, from the environment), else the store (or a TokenCache over it). */
export class Authenticator {
  private readonly bootstrapHash: Buffer | null;

  constructor(
    private readonly store: Pick<TokenStore, 'verify'>,
    bootstrapToken?: string | null,
  ) {
    this.bootstrapHash = bootstrapToken ? hash('sha256', bootstrapToken, 'buffer') : null;
  }

  async authenticate(token: string): Promise<Principal | null> {
    if (this.bootstrapHash && timingSafeEqual(hash('sha256', token, 'buffer'), this.bootstrapHash)) {
      return { tokenId: 'bootstrap', name: 'FLEETCOMPAT_BOOTSTRAP_TOKEN', role: 'admin' };
    }
    return this.store.verify(token);
  }
}
