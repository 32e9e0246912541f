import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectionQueries } from '@fleetcompat/projections';
import { Access } from './auth/access';
import { badRequest } from './problem';

@ApiTags('admin')
@Controller('v1/admin')
@Access({ roles: [] })
export class AdminController {
  constructor(private readonly queries: ProjectionQueries) {}

  @Get('set-aside')
  @ApiOperation({
    summary: 'Stored events the projector could not apply (admin)',
    description:
      'An event whose data its type does not allow, whose time is out of range, or that would put a host past MAX_GUESTS_PER_HOST is set aside: ' +
      'not applied, recorded here with the reason, and the projector goes on with the rest. A rebuild sets aside the same events.',
  })
  @ApiQuery({ name: 'limit', required: false, description: 'at most this many (default 1000, at most 10000)' })
  @ApiResponse({ status: 200, description: '{ items: [{ eventId, type, globalPosition, reason, recordedAt }] }' })
  async setAside(@Query('limit') limit?: string) {
    const n = limit === undefined ? 1000 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 10000)
      throw badRequest('invalid-limit', 'limit must be a whole number from 1 to 10000');
    return { items: await this.queries.setAside(n) };
  }
}
