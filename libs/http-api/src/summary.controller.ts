import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProjectionQueries } from '@fleetcompat/projections';
import { Access } from './auth/access';

@ApiTags('fleet')
@Controller('v1/summary')
@Access({ roles: ['planner'] })
export class SummaryController {
  constructor(private readonly queries: ProjectionQueries) {}

  @Get()
  @ApiOperation({ summary: 'Fleet totals by status, by hypervisor version (current and target), and by wave' })
  async get() {
    return this.queries.summary();
  }
}
