import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { placementDecidedJsonSchema, problemJsonSchema } from '@fleetcompat/contract';
import { ProjectionQueries } from '@fleetcompat/projections';
import { badRequest, notFound } from './problem';
import { Access } from './auth/access';
import { HistoryService } from './history/history.service';
import { MAX_PAGE_SIZE, pageSize } from './guests.controller';
import { PlacementsCache } from './placements-cache';
import { hostView } from './views';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostsController {
  constructor(
    private readonly queries: ProjectionQueries,
    private readonly historyService: HistoryService,
    private readonly placementsCache: PlacementsCache,
  ) {}

  @Get(':hostId')
  @Access({ roles: ['planner', 'host'], ownHostParam: 'hostId' })
  @ApiOperation({ summary: 'A host, its planned upgrade, and readiness (decisions acknowledged or not)' })
  @ApiResponse({ status: 404, ...problem })
  async get(@Param('hostId') hostId: string) {
    const host = await this.queries.host(hostId);
    if (!host) throw notFound('Host', hostId);
    return { ...hostView(host), readiness: await this.queries.readiness(hostId) };
  }

  @Get(':hostId/placements')
  @Access({ roles: ['planner', 'host'], ownHostParam: 'hostId' })
  @ApiOperation({ summary: "Every current decision for the host's guests (the full set a host reads before it reboots)" })
  @ApiResponse({
    status: 200,
    schema: {
      type: 'object',
      properties: {
        hostId: { type: 'string' },
        hypervisorVersion: { type: 'string' },
        placements: { type: 'array', items: { type: 'object', properties: { guestId: { type: 'string' }, status: { type: 'string' }, decision: placementDecidedJsonSchema, acknowledged: { type: 'boolean' } } } },
      },
    },
  })
  @ApiResponse({ status: 404, ...problem })
  @Header('Content-Type', 'application/json; charset=utf-8')
  async placements(@Param('hostId') hostId: string): Promise<string> {
    // JSON text from Postgres, sent as it is (see ProjectionQueries.placementsJson), kept between projector batches
    const body = await this.placementsCache.placementsJson(hostId);
    if (body === null) throw notFound('Host', hostId);
    return body;
  }

  @Get(':hostId/timeline')
  @Access({ roles: ['planner'] })
  @ApiOperation({ summary: "The host's events from the store, in order: registration, upgrade planned/started/completed/cancelled, acknowledgements" })
  @ApiQuery({ name: 'after', required: false, description: 'stream position after which the page starts (nextAfter of the previous page)' })
  @ApiQuery({ name: 'limit', required: false, description: `page size, 1-${MAX_PAGE_SIZE} (default 100)` })
  @ApiResponse({ status: 200, description: '{ hostId, items: [{ position, eventId, type, occurredAt, recordedAt, source, data }], nextAfter }' })
  @ApiResponse({ status: 404, ...problem })
  async timeline(@Param('hostId') hostId: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    if (after !== undefined && !/^\d{1,15}$/.test(after)) throw badRequest('invalid-after', 'after must be a stream position (a whole number)');
    const page = await this.historyService.hostTimeline(hostId, after === undefined ? 0 : Number(after), pageSize(limit));
    if (!page.items.length && after === undefined && !(await this.queries.host(hostId))) throw notFound('Host', hostId);
    return { hostId, items: page.items, nextAfter: page.next };
  }
}
