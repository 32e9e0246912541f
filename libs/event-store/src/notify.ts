import { DataSource } from 'typeorm';

/** Channel notified (pg_notify) when a transaction that inserted events commits. */
export const EVENTS_CHANNEL = 'fleetcompat_events';

type PgClient = {
  query(sql: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
};

/**
 * LISTENs on `channel` on a connection of its own (taken from the DataSource's pool for as
 * long as it listens) and calls `onNotify` for each notification. A lost connection is
 * re-established after `retryMs`. Notifications are only a wake-up: callers still poll, so a
 * missed one costs latency, never correctness. Resolves to a function that stops listening.
 */
export async function listen(
  dataSource: DataSource,
  channel: string,
  /** Called with the notification's payload; with none after LISTEN is (re)established (anything may have been missed). */
  onNotify: (payload?: string) => void,
  options: {
    retryMs?: number;
    onError?: (error: Error) => void;
    /** Called with true once LISTEN is in place (again), with false when the connection is lost: notifications sent meanwhile are missed. */
    onListening?: (listening: boolean) => void;
  } = {},
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  const driver = dataSource.driver as unknown as {
    obtainMasterConnection?: () => Promise<[PgClient, (err?: unknown) => void]>;
  };
  if (dataSource.options.type !== 'postgres' || typeof driver.obtainMasterConnection !== 'function')
    return async () => undefined;
  let stopped = false;
  let current: { client: PgClient; release: (err?: unknown) => void; detach: () => void } | undefined;
  let retry: NodeJS.Timeout | undefined;

  const again = () => {
    // Not after the DataSource is closed, and never keeping the process alive by itself.
    if (!stopped && dataSource.isInitialized)
      (retry = setTimeout(() => void connect(), options.retryMs ?? 1000)).unref();
  };
  const connect = async (): Promise<void> => {
    if (stopped || !dataSource.isInitialized) return;
    try {
      const [client, release] = await driver.obtainMasterConnection!();
      const onNotification = (msg: { channel: string; payload?: string }) => {
        if (msg.channel === channel) onNotify(msg.payload);
      };
      const onLost = (error?: Error) => {
        if (current?.client !== client) return;
        current.detach();
        current = undefined;
        release(error ?? new Error('connection ended'));
        options.onListening?.(false);
        if (error) options.onError?.(error);
        again();
      };
      client.on('notification', onNotification);
      client.on('error', onLost);
      client.on('end', onLost);
      current = {
        client,
        release,
        detach: () => {
          client.removeListener('notification', onNotification);
          client.removeListener('error', onLost);
          client.removeListener('end', onLost);
        },
      };
      await client.query(`LISTEN ${channel}`);
      options.onListening?.(true);
      onNotify(); // anything committed while we were not listening
    } catch (e) {
      options.onError?.(e as Error);
      if (current) {
        current.detach();
        current.release(e);
        current = undefined;
      }
      again();
    }
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = current;
    current = undefined;
    if (!c) return;
    c.detach();
    options.onListening?.(false);
    await c.client.query(`UNLISTEN ${channel}`).then(
      () => c.release(),
      (e) => c.release(e),
    );
  };
}
