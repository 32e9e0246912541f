import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { hostOf, roleKind } from '@fleetcompat/auth';
import { MAX_LABELS, problemJsonSchema } from '@fleetcompat/contract';
import { Access } from '../auth/access';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { pageSize } from '../guests.controller';
import { badRequest } from '../problem';
import { type FixSuggestion, WhatIfService, whatIfRequestSchema } from '../what-if/what-if.service';
import { ATTENTION_KINDS, AttentionKind, DashboardQueries } from './dashboard.queries';
import { GenerationMemo } from './generation-memo';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

/** `label=key=value`, repeated: the labels a host must all have (split at the first `=`). */
export function labelsParam(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]).filter((x) => x !== '');
  if (list.length > MAX_LABELS) throw badRequest('invalid-label', `at most ${MAX_LABELS} labels`);
  const labels: Record<string, string> = {};
  for (const item of list) {
    const text = String(item);
    const eq = text.indexOf('=');
    if (typeof item !== 'string' || eq < 1 || eq > 128 || text.length - eq - 1 > 256)
      throw badRequest('invalid-label', 'label must be key=value (key 1-128, value up to 256 characters)');
    labels[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return Object.keys(labels).length ? labels : undefined;
}

function idParam(name: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 128)
    throw badRequest(`invalid-${name}`, `${name} must be one id of at most 128 characters`);
  return raw;
}

const planRequestSchema = z.object({ hosts: whatIfRequestSchema.shape.hosts }).strict();

@ApiTags('dashboard')
@Controller('v1')
export class DashboardController {
  constructor(
    private readonly queries: DashboardQueries,
    private readonly memo: GenerationMemo,
    private readonly whatIf: WhatIfService,
    private readonly dataSource: DataSource,
  ) {}

  @Get('me')
  @Access({ roles: ['planner', 'ci', 'host'] })
  @ApiOperation({
    summary: 'Who the token is and what its role may read (the dashboard shows what the role may see and nothing else)',
  })
  @ApiResponse({
    status: 200,
    description: '{ tokenId, name, role, kind, hostId, may: { fleet, whatIf, hosts, hostTimeline, guests, live } }',
  })
  me(@Req() req: AuthenticatedRequest) {
    const p = req.principal!;
    const kind = roleKind(p.role);
    const reader = kind === 'planner' || kind === 'admin';
    return {
      tokenId: p.tokenId,
      name: p.name,
      role: p.role,
      kind,
      hostId: hostOf(p.role),
      may: {
        fleet: reader,
        whatIf: reader,
        hosts: reader ? 'all' : kind === 'host' ? 'own' : 'none',
        hostTimeline: reader,
        guests: reader,
        live: kind !== 'ci',
      },
    };
  }

  @Get('waves')
  @Access({ roles: ['planner'] })
  @ApiOperation({
    summary:
      'Upgrade waves: per wave its hosts, their readiness (decided, acknowledged, blocked), go / no-go, target versions and planned reboot times',
    description:
      'A host is go when every present guest has a decision that the host acknowledged and none is blocked (as GET /v1/hosts/{id} readiness); a wave is go when all its hosts are.',
  })
  @ApiResponse({
    status: 200,
    description:
      '{ items: [{ waveId, hosts, hostsReady, hostsBlocked, hostsStarted, guests, decided, acknowledged, blocked, go, targets, reboots: [{ at, hosts, hostsReady }], firstRebootAt, lastRebootAt }] }',
  })
  async waves() {
    return { items: await this.memo.get('waves', () => this.queries.waves()) };
  }

  @Get('attention')
  @Access({ roles: ['planner'] })
  @ApiOperation({
    summary:
      'Guests that need attention (blocked, override needed, unknown kernel), filtered by wave, host, labels and reason; paginated',
    description:
      'Each with its reason (code, and the explanation in words), the remedy (what would unblock a blocked guest) and, for blocked guests, ' +
      'the announced kernels of its distro line that would (as POST /v1/what-if lists them). `counts` are under the wave, host and label filters.',
  })
  @ApiQuery({ name: 'kind', required: false, enum: ATTENTION_KINDS })
  @ApiQuery({
    name: 'reason',
    required: false,
    description: 'the decision reason code (e.g. high-rsdp-without-override)',
  })
  @ApiQuery({ name: 'waveId', required: false })
  @ApiQuery({ name: 'hostId', required: false })
  @ApiQuery({ name: 'label', required: false, description: 'key=value; repeat for several (a host must have all)' })
  @ApiQuery({ name: 'limit', required: false, description: 'page size, 1-1000 (default 50)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiResponse({
    status: 200,
    description:
      '{ items: [{ guestId, hostId, status, kinds, action, reason, needReason, explanation, remedy, fixes, kernel, waveId, labels }], nextCursor, counts: { total, kinds, reasons } }',
  })
  @ApiResponse({ status: 400, ...problem })
  async attention(
    @Query('kind') kind?: string,
    @Query('reason') reason?: string,
    @Query('waveId') waveId?: string,
    @Query('hostId') hostId?: string,
    @Query('label') label?: unknown,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    if (kind !== undefined && kind !== '' && !(ATTENTION_KINDS as readonly string[]).includes(kind))
      throw badRequest('invalid-kind', `kind must be one of ${ATTENTION_KINDS.join(', ')}`);
    const filter = {
      kind: (kind || undefined) as AttentionKind | undefined,
      reason: idParam('reason', reason),
      waveId: idParam('waveId', waveId),
      hostId: idParam('hostId', hostId),
      labels: labelsParam(label),
    };
    const [page, counts] = await Promise.all([
      this.queries.attention({
        ...filter,
        after: typeof cursor === 'string' && cursor ? cursor : undefined,
        limit: pageSize(limit, 50),
      }),
      this.memo.get(`attention-counts:${JSON.stringify([filter.waveId, filter.hostId, filter.labels])}`, () =>
        this.queries.attentionFacets(filter),
      ),
    ]);
    const blockedDistros = [
      ...new Set(page.items.filter((i) => i.status === 'blocked' && i.kernel.distro).map((i) => i.kernel.distro!)),
    ];
    const fixes: Map<string, FixSuggestion[]> = blockedDistros.length
      ? await this.whatIf.fixCandidates(this.dataSource, blockedDistros)
      : new Map<string, FixSuggestion[]>();
    return {
      items: page.items.map((i) => ({
        ...i,
        fixes:
          i.status === 'blocked' && i.kernel.distro
            ? (fixes.get(i.kernel.distro) ?? []).filter(
                (f: { imageSha256: string }) => f.imageSha256 !== i.kernel.sha256,
              )
            : [],
      })),
      nextCursor: page.nextCursor,
      counts,
    };
  }

  @Post('plan')
  @HttpCode(200)
  @Access({ roles: ['planner'] })
  @ApiOperation({
    summary:
      "The current plan of some hosts: their guests' current decisions, counted as POST /v1/what-if counts its outcomes",
    description:
      'Hosts are named as in POST /v1/what-if (ids, labels and/or waveId; all given must match). What-if shows this beside its outcome.',
  })
  @ApiBody({ schema: z.toJSONSchema(planRequestSchema, { io: 'input' }) as SchemaObject })
  @ApiResponse({
    status: 200,
    description:
      '{ totals: { hosts, guests, fine, overrideLow, blocked, notApplicable, undecided, lostFirstGiBSuperpage, unknownKernel, byReason, byStatus }, decidedFor: [{ version, hosts }], unknownHostIds, unregisteredHostIds }',
  })
  @ApiResponse({ status: 400, ...problem })
  async plan(@Body() body: unknown) {
    const parsed = planRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw badRequest(
        'invalid-plan',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        {
          errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
      );
    }
    return this.queries.plan(parsed.data.hosts);
  }
}

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostListController {
  constructor(private readonly queries: DashboardQueries) {}

  @Get()
  @Access({ roles: ['planner'] })
  @ApiOperation({
    summary:
      'Hosts (id order) with their planned upgrade and readiness, filtered by wave, labels and go / no-go; paginated',
  })
  @ApiQuery({ name: 'waveId', required: false })
  @ApiQuery({ name: 'label', required: false, description: 'key=value; repeat for several (a host must have all)' })
  @ApiQuery({ name: 'readiness', required: false, enum: ['go', 'no-go'] })
  @ApiQuery({ name: 'limit', required: false, description: 'page size, 1-1000 (default 50)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiResponse({
    status: 200,
    description:
      '{ items: [{ hostId, registered, hypervisor, labels, plannedUpgrade, readiness: { guests, decided, acknowledged, blocked, ready }, go, noGoReasons }], nextCursor, total }',
  })
  @ApiResponse({ status: 400, ...problem })
  async list(
    @Query('waveId') waveId?: string,
    @Query('label') label?: unknown,
    @Query('readiness') readiness?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    if (readiness !== undefined && readiness !== '' && readiness !== 'go' && readiness !== 'no-go')
      throw badRequest('invalid-readiness', 'readiness must be go or no-go');
    return this.queries.hosts({
      waveId: idParam('waveId', waveId),
      labels: labelsParam(label),
      readiness: readiness || undefined,
      after: typeof cursor === 'string' && cursor ? cursor : undefined,
      limit: pageSize(limit, 50),
    });
  }
}
