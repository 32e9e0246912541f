import { parseRole, TokenStore } from '@fleetcompat/auth';
import { withDatabase } from '../database';
import { CliError, CliIo, ExitCode, groupProgram, runGroup } from '../io';

function withStore<T>(url: string | undefined, io: CliIo, work: (store: TokenStore) => Promise<T>): Promise<T> {
  return withDatabase(url, io, { migrate: true, poolSize: 2 }, (ds) => work(new TokenStore(ds)));
}

/**
 * `fleetcompat tokens create|revoke|list`: bearer tokens of the HTTP API, straight on the
 * database (DATABASE_URL). The secret is printed once, at creation; only its sha256 is kept.
 */
export async function tokensGroup(args: string[], io: CliIo): Promise<number> {
  const result: { code: number } = { code: ExitCode.ok };
  const root = groupProgram('tokens', 'create, revoke and list the bearer tokens of the HTTP API', io);
  root
    .command('create')
    .description('create a token and print its secret (shown this once)')
    .requiredOption('--role <role>', 'planner, ci, admin or host:<hostId>')
    .option('--name <name>', 'who or what it is for')
    .option('--database-url <url>', 'Postgres URL (default: DATABASE_URL)')
    .option('--json', 'print { token, id, name, role, createdAt } as JSON')
    .exitOverride()
    .action(async (o: { role: string; name?: string; databaseUrl?: string; json?: boolean }) => {
      if (!parseRole(o.role))
        throw new CliError(ExitCode.usage, `--role must be planner, ci, admin or host:<hostId>, got "${o.role}"`);
      const { token, info } = await withStore(o.databaseUrl, io, (s) => s.create(o.role, o.name ?? null));
      if (o.json) io.stdout(JSON.stringify({ token, ...info }, null, 2) + '\n');
      else
        io.stdout(
          `created token ${info.id} (role ${info.role}${info.name ? `, name ${info.name}` : ''})\n${token}\nKeep it now: it is stored as a sha256 and cannot be shown again.\n`,
        );
    });
  root
    .command('revoke')
    .description('revoke a token by id: it stops working at once')
    .argument('<id>', 'token id (see tokens list)')
    .option('--database-url <url>', 'Postgres URL (default: DATABASE_URL)')
    .exitOverride()
    .action(async (id: string, o: { databaseUrl?: string }) => {
      const done = await withStore(o.databaseUrl, io, (s) => s.revoke(id));
      if (!done) throw new CliError(ExitCode.badInput, `no active token with id ${id}`);
      io.stdout(`revoked token ${id}\n`);
    });
  root
    .command('list')
    .description('list the tokens (never their secrets)')
    .option('--all', 'include revoked tokens')
    .option('--json', 'print JSON')
    .option('--database-url <url>', 'Postgres URL (default: DATABASE_URL)')
    .exitOverride()
    .action(async (o: { all?: boolean; json?: boolean; databaseUrl?: string }) => {
      const tokens = await withStore(o.databaseUrl, io, (s) => s.list({ includeRevoked: o.all }));
      if (o.json) {
        io.stdout(JSON.stringify(tokens, null, 2) + '\n');
        return;
      }
      if (!tokens.length) {
        io.stdout('no tokens\n');
        return;
      }
      for (const t of tokens)
        io.stdout(
          `${t.id}  ${t.role.padEnd(12)}  ${t.createdAt}${t.revokedAt ? `  revoked ${t.revokedAt}` : ''}  ${t.name ?? ''}\n`,
        );
    });
  return runGroup('tokens', root, args, io, result);
}
