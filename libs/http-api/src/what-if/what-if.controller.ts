import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { problemJsonSchema } from '@fleetcompat/contract';
import { Access } from '../auth/access';
import { badRequest } from '../problem';
import { WhatIfService, whatIfRequestSchema } from './what-if.service';
import { WhatIfThrottlerGuard } from './what-if.throttler';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

@ApiTags('what-if')
@Controller('v1/what-if')
export class WhatIfController {
  constructor(private readonly whatIf: WhatIfService) {}

  @Post()
  @HttpCode(200)
  @Access({ roles: ['planner'] })
  @UseGuards(WhatIfThrottlerGuard)
  @ApiOperation({
    summary: 'What a hypervisor upgrade would do to the guests of some hosts; nothing is changed',
    description:
      "Runs the policy the projector runs on the current projections, for the target version (and build) instead of each host's own: " +
      'per host and in total, which guests would be fine, need the override, be blocked (and why), lose the first-GiB superpage, or have an ' +
      'unknown kernel; for each blocked guest, announced kernels of the same distro line that set XENFEAT_linux_rsdp_unrestricted (bit 15). ' +
      'Hosts are named by ids, labels (all must match) and/or waveId (all given must match). Rate limited per token (429 with Retry-After).',
  })
  @ApiBody({ schema: z.toJSONSchema(whatIfRequestSchema, { io: 'input' }) as SchemaObject })
  @ApiResponse({
    status: 200,
    description:
      '{ target, totals, hosts: [{ hostId, totals, guests }], unknownHostIds, unregisteredHostIds, guestsListed, truncated, flags }',
  })
  @ApiResponse({ status: 400, ...problem })
  @ApiResponse({ status: 429, description: 'too many what-if calls for this token; see Retry-After', ...problem })
  async run(@Body() body: unknown) {
    const parsed = whatIfRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw badRequest(
        'invalid-what-if',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        {
          errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
      );
    }
    return this.whatIf.run(parsed.data);
  }
}
