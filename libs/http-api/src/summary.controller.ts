import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProjectionQueries } from '@fleetcompat/projections';
import { Access } from './auth/access';
import { GenerationMemo } from './dashboard/generation-memo';

@ApiTags('fleet')
@Controller('v1/summary')
@Access({ roles: ['planner'] })
export class SummaryController {
  constructor(
    private readonly queries: ProjectionQueries,
    private readonly memo: GenerationMemo,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Fleet totals by status, by hypervisor version (current and target), and by wave',
    description:
      'Kept until the next projector batch commits (dropped on its notification, as the placements are): the fleet page of the dashboard reads it at every load.',
  })
  async get() {
    return this.memo.get('summary', () => this.queries.summary());
  }
}
