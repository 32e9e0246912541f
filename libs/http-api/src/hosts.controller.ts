import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { placementDecidedJsonSchema, problemJsonSchema } from '@fleetcompat/contract';
import { ProjectionQueries } from '@fleetcompat/projections';
import { badRequest, notFound } from './problem';
import { Access } from './auth/access';
import { HistoryService } from './history/history.service';
import { MAX_PAGE_SIZE, pageSize } from './guests.controller';
import { wantsGzip } from './content-coding';
import { identityBody, PlacementsCache, PlacementsReply } from './placements-cache';
import { PlacementsWatch } from './placements-watch';
import { hostView } from './views';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

/** Longest `wait` of GET /v1/hosts/{id}/placements, seconds. */
export const MAX_PLACEMENTS_WAIT_SECONDS = 60;

export function placementsWaitMs(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > MAX_PLACEMENTS_WAIT_SECONDS)
    throw badRequest('invalid-wait', `wait must be a whole number of seconds from 0 to ${MAX_PLACEMENTS_WAIT_SECONDS}`);
  return Number(raw) * 1000;
}

/** If-None-Match against a tag, by the weak comparison (RFC 9110 13.1.2): `*` or any listed tag, W/ ignored. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  const want = opaque(etag);
  return ifNoneMatch.split(',').some((t) => opaque(t) === want);
}

/** An answer, or only its tag when the caller's If-None-Match is known to match it. */
type Answer = PlacementsReply | { readonly etag: string; readonly gzip: null };

/** 304 when the caller has the answer; else the body, gzip when the client accepts it (one tag for both codings). */
async function sendPlacements(
  req: Request,
  res: Response,
  answer: Answer,
  ifNoneMatch: string | undefined,
): Promise<void> {
  res.setHeader('ETag', answer.etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  res.setHeader('Vary', 'Authorization, Accept-Encoding');
  if (answer.gzip === null || etagMatches(ifNoneMatch, answer.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('application/json; charset=utf-8');
  if (wantsGzip(req)) {
    res.setHeader('Content-Encoding', 'gzip');
    res.send(answer.gzip);
    return;
  }
  const body = await identityBody(answer);
  if (!res.destroyed) res.send(body);
}

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostsController {
  constructor(
    private readonly queries: ProjectionQueries,
    private readonly historyService: HistoryService,
    private readonly placementsCache: PlacementsCache,
    private readonly placementsWatch: PlacementsWatch,
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
  @ApiOperation({
    summary: "Every current decision for the host's guests (the full set a host reads before it reboots)",
    description:
      'Answers carry an ETag. With If-None-Match set to it the answer is 304 while nothing changed; with `wait` as well, ' +
      "the request is held until the host's answer changes (200 with the new body, as soon as the projector's batch that changed it commits) " +
      `or \`wait\` seconds pass (304; the wait ends at a random point of its last quarter, so that hosts that started together do not come back together). \`wait\`: 0-${MAX_PLACEMENTS_WAIT_SECONDS}. \`withdrawn\` lists the guests the host removed, with the sequence of their withdrawal.`,
  })
  @ApiQuery({
    name: 'wait',
    required: false,
    description: `seconds to hold the request while If-None-Match matches, 0-${MAX_PLACEMENTS_WAIT_SECONDS} (default 0)`,
  })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'the ETag of the answer the host has' })
  @ApiHeader({
    name: 'Accept-Encoding',
    required: false,
    description: 'with gzip accepted (as Node fetch and browsers send it) the body is sent gzip-compressed',
  })
  @ApiResponse({
    status: 200,
    headers: {
      ETag: { description: 'tag of this answer (weak; the same for both codings)', schema: { type: 'string' } },
      'Content-Encoding': {
        description: 'gzip when the request accepts it; absent otherwise',
        schema: { type: 'string', enum: ['gzip'] },
      },
    },
    schema: {
      type: 'object',
      properties: {
        hostId: { type: 'string' },
        hypervisorVersion: { type: 'string' },
        placements: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              guestId: { type: 'string' },
              status: { type: 'string' },
              decision: placementDecidedJsonSchema,
              acknowledged: { type: 'boolean' },
              remedy: {
                type: 'array',
                items: { type: 'string' },
                description: 'what would unblock a blocked decision ([] otherwise)',
              },
            },
          },
        },
        withdrawn: {
          type: 'array',
          items: { type: 'object', properties: { guestId: { type: 'string' }, sequence: { type: 'integer' } } },
        },
      },
    },
  })
  @ApiResponse({
    status: 304,
    description: 'If-None-Match matches the current answer (at once, or when `wait` ran out)',
  })
  @ApiResponse({ status: 400, ...problem })
  @ApiResponse({ status: 404, ...problem })
  async placements(
    @Param('hostId') hostId: string,
    @Query('wait') wait: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const waitMs = placementsWaitMs(wait);
    const ifNoneMatch = req.headers['if-none-match'];
    // JSON text from Postgres (see PlacementsReader), gzip-compressed once and kept between projector batches
    const generation = this.placementsCache.generation;
    let answer = await this.currentAnswer(hostId, ifNoneMatch);
    if (!etagMatches(ifNoneMatch, answer.etag) || waitMs === 0)
      return await sendPlacements(req, res, answer, ifNoneMatch);
    const aborted = { onAbort: (f: () => void) => res.once('close', f) };
    // ends somewhere in the last quarter of the wait: hosts that started together do not all come back together
    const changed = await this.placementsWatch.wait(
      hostId,
      answer.etag,
      waitMs - Math.floor(Math.random() * (waitMs / 4)),
      generation,
      aborted,
    );
    if (res.destroyed || res.writableEnded) return;
    if (changed) answer = await this.currentAnswer(hostId, undefined);
    await sendPlacements(req, res, answer, ifNoneMatch);
  }

  /**
   * The host's answer; when the caller's tag is the one already known for this generation
   * (a long-poll asking again after its wait ran out), the body is not read at all.
   */
  private async currentAnswer(hostId: string, ifNoneMatch: string | undefined): Promise<Answer> {
    const known = ifNoneMatch ? this.placementsCache.knownEtag(hostId) : undefined;
    if (known !== undefined && etagMatches(ifNoneMatch, known)) return { etag: known, gzip: null };
    const answer = await this.placementsCache.placements(hostId);
    if (answer === null) throw notFound('Host', hostId);
    return answer;
  }

  @Get(':hostId/timeline')
  @Access({ roles: ['planner'] })
  @ApiOperation({
    summary:
      "The host's events from the store, in order: registration, upgrade planned/started/completed/cancelled, acknowledgements",
  })
  @ApiQuery({
    name: 'after',
    required: false,
    description: 'stream position after which the page starts (nextAfter of the previous page)',
  })
  @ApiQuery({ name: 'limit', required: false, description: `page size, 1-${MAX_PAGE_SIZE} (default 100)` })
  @ApiResponse({
    status: 200,
    description: '{ hostId, items: [{ position, eventId, type, occurredAt, recordedAt, source, data }], nextAfter }',
  })
  @ApiResponse({ status: 404, ...problem })
  async timeline(@Param('hostId') hostId: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    if (after !== undefined && !/^\d{1,15}$/.test(after))
      throw badRequest('invalid-after', 'after must be a stream position (a whole number)');
    const page = await this.historyService.hostTimeline(
      hostId,
      after === undefined ? 0 : Number(after),
      pageSize(limit),
    );
    if (!page.items.length && after === undefined && !(await this.queries.host(hostId))) throw notFound('Host', hostId);
    return { hostId, items: page.items, nextAfter: page.next };
  }
}
