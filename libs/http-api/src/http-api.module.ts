import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventsController } from './events.controller';
import { GuestsController } from './guests.controller';
import { HostsController } from './hosts.controller';
import { ProblemDetailsFilter } from './problem';
import { SummaryController } from './summary.controller';

/** The HTTP API of planners, hosts and HTTP producers. Needs EVENT_SINK and ProjectionQueries from the database module. */
@Module({
  controllers: [EventsController, GuestsController, HostsController, SummaryController],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class HttpApiModule {}
