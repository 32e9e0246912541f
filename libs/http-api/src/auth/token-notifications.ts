import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TOKENS_CHANNEL, TokenCache } from '@fleetcompat/auth';
import { listen } from '@fleetcompat/event-store';

/**
 * Keeps the API's TokenCache told of every change of access_tokens: LISTEN on TOKENS_CHANNEL
 * (each notification drops the cache) and, while that connection is lost, no caching at all.
 */
export class TokenNotifications implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(TokenNotifications.name);
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly cache: TokenCache,
    private readonly dataSource: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unlisten = await listen(this.dataSource, TOKENS_CHANNEL, () => this.cache.invalidate(), {
      onListening: (on) => this.cache.setListening(on),
      onError: (e) => this.log.warn(`LISTEN ${TOKENS_CHANNEL}: ${e.message} (tokens not cached meanwhile)`),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.unlisten?.();
  }
}
