import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  EVENT_SINK,
  EventSink,
  EventTypes,
  FleetEvent,
  isUnstorable,
  MAX_EVENT_BYTES,
  eventJsonSchema,
  problemJsonSchema,
  validateEvent,
} from '@fleetcompat/contract';
import { badRequest, ProblemException } from './problem';
import { Access } from './auth/access';
import type { AuthenticatedRequest } from './auth/auth.guard';
import type { EventsRateLimiter } from './events-rate';

/** The HTTP ingest's settings (provided by HttpApiModule). */
export const EVENTS_INGEST_OPTIONS = Symbol('EVENTS_INGEST_OPTIONS');
export interface EventsIngestOptions {
  readonly maxFutureSkewMs?: number;
  readonly rate: EventsRateLimiter;
}

export const MAX_EVENTS_PER_REQUEST = 1000;

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    @Inject(EVENT_SINK) private readonly sink: EventSink,
    @Inject(EVENTS_INGEST_OPTIONS) private readonly options: EventsIngestOptions,
  ) {}

  @Post()
  @HttpCode(202)
  @Access({ roles: ['ci', 'host'], events: true })
  @ApiOperation({
    summary: 'Ingest one event envelope or an array of them',
    description:
      'Same validation and idempotency as the Kafka topics: an eventId already stored is counted as a duplicate and has no effect. ' +
      'All or nothing: if any event is invalid, none is stored and the answer lists every rejection. ' +
      'Roles: ci writes KernelBuildCompleted/KernelBuildRevoked; host:<id> writes HostRegistered, GuestObserved, GuestRemoved and PlacementApplied of its own host; admin writes everything (403 lists the refused events). ' +
      `At most ${MAX_EVENTS_PER_REQUEST} events per request, ${MAX_EVENT_BYTES} bytes per event.`,
  })
  @ApiBody({
    schema: {
      oneOf: [
        { oneOf: EventTypes.map(eventJsonSchema) },
        { type: 'array', items: { oneOf: EventTypes.map(eventJsonSchema) } },
      ],
    },
  })
  @ApiResponse({
    status: 202,
    description: 'stored (or already stored)',
    schema: {
      type: 'object',
      properties: { received: { type: 'integer' }, stored: { type: 'integer' }, duplicates: { type: 'integer' } },
    },
  })
  @ApiResponse({
    status: 400,
    description: 'invalid JSON or invalid events',
    content: { 'application/problem+json': { schema: problemJsonSchema } },
  })
  @ApiResponse({
    status: 409,
    description: 'an eventId is already stored with other content: that event was not stored (the others were)',
    content: { 'application/problem+json': { schema: problemJsonSchema } },
  })
  @ApiResponse({
    status: 429,
    description: 'the token sent more events than its rate allows',
    content: { 'application/problem+json': { schema: problemJsonSchema } },
  })
  async ingest(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0) throw badRequest('empty-batch', 'the request holds no event');
    if (items.length > MAX_EVENTS_PER_REQUEST)
      throw badRequest('too-many-events', `at most ${MAX_EVENTS_PER_REQUEST} events per request, got ${items.length}`);
    const rate = this.options.rate.take(req.principal?.tokenId ?? `ip:${req.ip}`, items.length);
    if (!rate.ok) {
      throw new ProblemException(
        429,
        'rate-limited',
        'Too many requests',
        `at most ${this.options.rate.limit} events per ${Math.round(this.options.rate.windowMs / 1000)} s per token; retry after ${rate.retryAfterSeconds} s`,
        { limit: this.options.rate.limit, retryAfterSeconds: rate.retryAfterSeconds },
        { 'Retry-After': String(rate.retryAfterSeconds) },
      );
    }
    const now = Date.now();
    const valid: FleetEvent[] = [];
    const errors: { index: number; eventId?: string; code: string; message: string }[] = [];
    items.forEach((item, index) => {
      const size = Buffer.byteLength(JSON.stringify(item) ?? '');
      if (size > MAX_EVENT_BYTES) {
        errors.push({
          index,
          code: 'oversize',
          message: `event of ${size} bytes exceeds the limit of ${MAX_EVENT_BYTES}`,
        });
        return;
      }
      const r = validateEvent(item, { now, maxFutureSkewMs: this.options.maxFutureSkewMs });
      if (r.ok) valid.push(r.event);
      else
        errors.push({
          index,
          ...(r.rejection.eventId ? { eventId: r.rejection.eventId } : {}),
          code: r.rejection.code,
          message: r.rejection.message,
        });
    });
    if (errors.length) {
      throw badRequest('invalid-events', `${errors.length} of ${items.length} events are invalid; none was stored`, {
        errors,
      });
    }
    let outcome;
    try {
      outcome = await this.sink.store(valid.map((event) => ({ event, origin: { channel: 'http' as const } })));
    } catch (e) {
      // data Postgres refuses although it passed validation: the request's fault, never a 500
      if (isUnstorable(e))
        throw badRequest(
          'unstorable',
          `the store refused the events as data (SQLSTATE ${e.sqlState}); none was stored: ${e.message.slice(0, 500)}`,
        );
      throw e;
    }
    if (outcome.conflicts?.length) {
      const { conflicts, storedIds: _ids, ...counts } = outcome;
      throw new ProblemException(
        409,
        'conflict',
        'Conflict',
        `${conflicts.length} eventId(s) are already stored with other content (type, occurredAt or data); those events were not stored, the others were`,
        {
          received: items.length,
          ...counts,
          duplicates: counts.duplicates - conflicts.length,
          conflicts: conflicts.map((c) => ({ index: c.index, eventId: c.eventId })),
        },
      );
    }
    return { received: items.length, stored: outcome.stored, duplicates: outcome.duplicates };
  }
}
