import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Serves the OpenAPI document at /openapi.json and a browsable UI at /docs. */
export function serveOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('fleetcompat')
    .setDescription(
      'RSDP placement decisions for Xen PVH guests across a fleet. Events in (the same envelopes as the Kafka topics), ' +
        'projections and decisions out. Errors are RFC 9457 problem details (application/problem+json). ' +
        'Every /v1 endpoint needs a bearer token (Authorization: Bearer <token>) whose role allows it: planner (read everything, what-if), ' +
        'ci (write kernel builds), host:<hostId> (read its own host and placements, write its own inventory and acks), admin (everything, tokens). ' +
        '401 without a valid token, 403 when the role may not.',
    )
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'a token from `fleetcompat tokens create`, POST /v1/tokens, or FLEETCOMPAT_BOOTSTRAP_TOKEN',
    })
    .setVersion(version)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });
}
