import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TokenCache, watchTokenChanges } from '@fleetcompat/auth';

/**
 * Keeps the API's TokenCache told of every change of access_tokens (watchTokenChanges: each
 * notification drops the cache) and, while that connection is lost, no caching at all.
 */
export class TokenNotifications implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(TokenNotifications.name);
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly cache: TokenCache,
    private readonly dataSource: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unlisten = await watchTokenChanges(this.dataSource, [this.cache], (m) =>
      this.log.warn(`${m}: tokens not cached meanwhile`),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.unlisten?.();
  }
}
