import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { placementDecidedJsonSchema, problemJsonSchema } from '@fleetcompat/contract';
import { ProjectionQueries } from '@fleetcompat/projections';
import { badRequest, notFound } from './problem';
import { Access } from './auth/access';
import { HistoryService } from './history/history.service';
import { guestSummary, hostView, kernelView } from './views';

export const GUEST_STATUSES = [
  'ok',
  'needs-low-rsdp',
  'blocked',
  'unknown-kernel',
  'not-applicable',
  'awaiting-host',
] as const;
export const MAX_PAGE_SIZE = 1000;

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

export function pageSize(raw: string | undefined, fallback = 100): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PAGE_SIZE)
    throw badRequest('invalid-limit', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  return Number(raw);
}

@ApiTags('guests')
@Controller('v1/guests')
@Access({ roles: ['planner'] })
export class GuestsController {
  constructor(
    private readonly queries: ProjectionQueries,
    private readonly historyService: HistoryService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Guests, filtered by status, host and upgrade wave; paginated by cursor' })
  @ApiQuery({ name: 'status', required: false, enum: GUEST_STATUSES })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'waveId', required: false })
  @ApiQuery({ name: 'limit', required: false, description: `page size, 1-${MAX_PAGE_SIZE} (default 100)` })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiResponse({ status: 200, description: '{ items, nextCursor }' })
  @ApiResponse({ status: 400, ...problem })
  async list(
    @Query('status') status?: string,
    @Query('hostId') hostId?: string,
    @Query('waveId') waveId?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    if (status !== undefined && !(GUEST_STATUSES as readonly string[]).includes(status)) {
      throw badRequest('invalid-status', `status must be one of ${GUEST_STATUSES.join(', ')}`);
    }
    const page = await this.queries.guests({ status, hostId, waveId, after: cursor, limit: pageSize(limit) });
    return { items: page.items.map((g) => guestSummary(g)), nextCursor: page.next };
  }

  @Get(':guestId')
  @ApiOperation({
    summary:
      'A guest: its facts, status, required placement, current decision and the explanation (which facts, which rule)',
  })
  @ApiParam({ name: 'guestId' })
  @ApiResponse({
    status: 200,
    description: 'the guest projection',
    schema: { type: 'object', properties: { decision: placementDecidedJsonSchema } },
  })
  @ApiResponse({ status: 404, ...problem })
  @ApiQuery({
    name: 'hostId',
    required: false,
    description: "that host's view of the guest (default: the latest host that reports it present)",
  })
  async get(@Param('guestId') guestId: string, @Query('hostId') hostId?: string) {
    const found = await this.queries.guest(guestId, hostId);
    if (!found) throw notFound('Guest', guestId);
    const { guest, host, kernel, bootloader, ack, reportedBy } = found;
    const d = guest.decision;
    return {
      ...guestSummary(guest, ack),
      // more than one host: a live migration, or a host that is wrong; each has a decision (GET ...?hostId=)
      reportedBy,
      flags: reportedBy.length > 1 ? ['reported-by-several-hosts'] : [],
      host: host ? hostView(host) : null,
      kernel: kernelView(kernel),
      bootloader: kernelView(bootloader),
      explanation: d
        ? {
            rule: d.message.reason,
            steps: d.explanation,
            remedy: d.remedy,
            facts: d.message.facts,
            flags: d.flags,
            causedBy: d.causedBy,
          }
        : {
            rule: null,
            steps: [
              guest.present ? 'No decision yet: the host has not registered.' : 'The guest was removed from its host.',
            ],
            remedy: [],
            facts: null,
            flags: [],
            causedBy: null,
          },
    };
  }

  @Get(':guestId/history')
  @ApiOperation({
    summary: 'Every decision and withdrawal the guest has had, with the events each rested on',
    description:
      'From the event store: for each decision (oldest first) the event that caused it (causedBy: id, type, occurredAt, recordedAt), ' +
      'the events its facts came from, as the projector had them in force (restedOn: the guest observation, host registration, running version, plan, kernel and bootloader builds, behaviour and GUEST_OS declarations), ' +
      'and the rule that fired (reason, status, explanation).',
  })
  @ApiResponse({ status: 404, ...problem })
  async history(@Param('guestId') guestId: string) {
    const items = await this.historyService.guestHistory(guestId);
    if (!items.length && !(await this.queries.guest(guestId))) throw notFound('Guest', guestId);
    return { guestId, items };
  }
}
