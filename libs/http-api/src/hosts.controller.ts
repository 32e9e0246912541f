import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { placementDecidedJsonSchema, problemJsonSchema } from '@fleetcompat/contract';
import { ProjectionQueries } from '@fleetcompat/projections';
import { notFound } from './problem';
import { hostView } from './views';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostsController {
  constructor(private readonly queries: ProjectionQueries) {}

  @Get(':hostId')
  @ApiOperation({ summary: 'A host, its planned upgrade, and readiness (decisions acknowledged or not)' })
  @ApiResponse({ status: 404, ...problem })
  async get(@Param('hostId') hostId: string) {
    const host = await this.queries.host(hostId);
    if (!host) throw notFound('Host', hostId);
    return { ...hostView(host), readiness: await this.queries.readiness(hostId) };
  }

  @Get(':hostId/placements')
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
  async placements(@Param('hostId') hostId: string) {
    const host = await this.queries.host(hostId);
    if (!host) throw notFound('Host', hostId);
    const rows = await this.queries.placements(hostId);
    return {
      hostId,
      hypervisorVersion: host.upgrade?.toVersion ?? host.hypervisorVersion,
      placements: rows.map(({ guest, ack }) => ({
        guestId: guest.guestId,
        status: guest.status,
        decision: guest.decision?.message ?? null,
        acknowledged: Boolean(ack && guest.decision && ack.decisionId === guest.decision.message.decisionId),
      })),
    };
  }
}
