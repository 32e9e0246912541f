import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { problemJsonSchema } from '@fleetcompat/contract';
import { parseRole, TokenCache, TokenStore } from '@fleetcompat/auth';
import { Access } from './access';
import { badRequest, notFound } from '../problem';

const problem = { content: { 'application/problem+json': { schema: problemJsonSchema } } };

/** Token management for admins (the CLI `fleetcompat tokens` does the same on the database). */
@ApiTags('tokens')
@Controller('v1/tokens')
@Access({ roles: [] })
export class TokensController {
  constructor(
    @Inject(TokenStore) private readonly tokens: TokenStore,
    @Inject(TokenCache) private readonly cache: TokenCache,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Tokens (never their secrets); admin only' })
  @ApiQuery({ name: 'includeRevoked', required: false, enum: ['true', 'false'] })
  async list(@Query('includeRevoked') includeRevoked?: string) {
    return { items: await this.tokens.list({ includeRevoked: includeRevoked === 'true' }) };
  }

  @Post()
  @ApiOperation({ summary: 'Create a token; its secret is in this answer only (stored as a sha256); admin only' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['role'],
      properties: {
        role: { type: 'string', description: 'planner, ci, admin or host:<hostId>' },
        name: { type: 'string' },
      },
    },
  })
  @ApiResponse({ status: 201, description: '{ token, id, name, role, createdAt }' })
  @ApiResponse({ status: 400, ...problem })
  async create(@Body() body: { role?: unknown; name?: unknown } | null | undefined) {
    const role = typeof body?.role === 'string' ? parseRole(body.role) : null;
    if (!role) throw badRequest('invalid-role', 'role must be planner, ci, admin or host:<hostId>');
    if (body?.name !== undefined && (typeof body?.name !== 'string' || body.name.length > 200))
      throw badRequest('invalid-name', 'name must be a string of at most 200 characters');
    const { token, info } = await this.tokens.create(role, body?.name ?? null);
    return { token, ...info };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a token: it stops working at once; admin only' })
  @ApiResponse({ status: 404, ...problem })
  async revoke(@Param('id') id: string) {
    if (!(await this.tokens.revoke(id))) throw notFound('Token', id);
    // this process at once; the others when the commit's notification reaches them (TokenCache)
    this.cache.invalidate();
  }
}
