import { compareProjections, LIVE_SCHEMA, rebuildProjections } from '@fleetcompat/projections';
import { withDatabase } from '../database';
import { CliIo, ExitCode, groupProgram, runGroup } from '../io';

/**
 * `fleetcompat projections rebuild [--verify]`: replays the whole event store into fresh
 * projection tables beside the live ones and, with --verify, compares them.
 */
export async function projectionsGroup(args: string[], io: CliIo): Promise<number> {
  const result: { code: number } = { code: ExitCode.ok };
  const root = groupProgram('projections', 'rebuild the projections from the event store', io);
  root
    .command('rebuild')
    .description('replay every stored event into the schema projection_rebuild (the live projections are untouched)')
    .option('--database-url <url>', 'Postgres URL (default: DATABASE_URL)')
    .option('--schema <name>', 'schema to rebuild into', 'projection_rebuild')
    .option('--verify', 'compare the rebuild with the live projections; exit 1 on any difference')
    .exitOverride()
    .action(async (o: { databaseUrl?: string; schema: string; verify?: boolean }) => {
      await withDatabase(o.databaseUrl, io, { migrate: false }, async (ds) => {
        const r = await rebuildProjections(ds, { schema: o.schema });
        io.stdout(
          `rebuilt ${o.schema} from ${r.events} events in ${r.ms} ms (${Math.round((r.events / Math.max(r.ms, 1)) * 1000)} events/s)\n`,
        );
        if (o.verify) {
          const diffs = await compareProjections(ds, LIVE_SCHEMA, o.schema);
          if (diffs.length) {
            io.stdout(`DIFFERENT from the live projections:\n${JSON.stringify(diffs, null, 2)}\n`);
            result.code = ExitCode.badInput;
          } else io.stdout('identical to the live projections\n');
        }
      });
    });
  return runGroup('projections', root, args, io, result);
}
