import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { problemJsonSchema } from '@fleetcompat/contract';
import { Access, Public } from '../auth/access';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { ProblemException } from '../problem';
import { LiveHub } from './live-hub';
import { LIVE_TICKET_TTL_MS, LiveTickets } from './live-tickets';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

@ApiTags('live')
@Controller('v1/live')
export class LiveController {
  constructor(
    private readonly tickets: LiveTickets,
    private readonly hub: LiveHub,
  ) {}

  @Post('tickets')
  @HttpCode(201)
  @Access({ roles: ['planner', 'host'] })
  @ApiOperation({
    summary:
      'A ticket that opens the live stream once (GET /v1/live?ticket=), for clients that cannot send headers (EventSource)',
    description: `Good for ${LIVE_TICKET_TTL_MS / 1000} s; bound to the caller's token (a revoked token's tickets stop working). A bearer token never goes into a URL.`,
  })
  @ApiResponse({ status: 201, description: '{ ticket, expiresAt, url }' })
  issue(@Req() req: AuthenticatedRequest) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')![1];
    const { ticket, expiresAt } = this.tickets.issue(req.principal!, bearer);
    return { ticket, expiresAt, url: `/v1/live?ticket=${encodeURIComponent(ticket)}` };
  }

  @Get()
  @Public()
  @ApiOperation({
    summary:
      'Server-sent events: one `projection` event whenever a projector batch commits (at most one a second), for the dashboard',
    description:
      'Authenticated by a ticket from POST /v1/live/tickets (EventSource cannot send an Authorization header). Events: `ready` (at once), ' +
      '`projection` ({ generation, listening }: the projections moved; `listening` false while the API gets no notifications, then poll), ' +
      '`bye` ({ reason: renew | shutdown }: the stream ends; open a new one with a new ticket). A comment line every 20 s keeps it open.',
  })
  @ApiQuery({ name: 'ticket', required: true })
  @ApiResponse({ status: 200, description: 'text/event-stream' })
  @ApiResponse({
    status: 401,
    description: 'no ticket, or one that is malformed, expired, used, or of a revoked token',
    ...problem,
  })
  @ApiResponse({ status: 503, description: 'too many open streams on this process', ...problem })
  async stream(@Query('ticket') ticket: unknown, @Res() res: Response): Promise<void> {
    const principal = typeof ticket === 'string' ? await this.tickets.redeem(ticket) : null;
    if (!principal) {
      throw new ProblemException(
        401,
        'unauthorized',
        'Unauthorized',
        'this stream needs a ticket from POST /v1/live/tickets (good for one minute, once)',
        {},
        { 'WWW-Authenticate': 'Bearer realm="fleetcompat"' },
      );
    }
    if (this.hub.full)
      throw new ProblemException(
        503,
        'too-many-streams',
        'Service unavailable',
        `this process serves at most ${this.hub.maxStreams} live streams`,
        {},
        { 'Retry-After': '30' },
      );
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.hub.attach(res, principal);
  }
}
