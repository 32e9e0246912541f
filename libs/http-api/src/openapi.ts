import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Serves the OpenAPI document at /openapi.json and a browsable UI at /docs. */
export function serveOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('fleetcompat')
    .setDescription(
      'RSDP placement decisions for Xen PVH guests across a fleet. Events in (the same envelopes as the Kafka topics), ' +
        'projections and decisions out. Errors are RFC 9457 problem details (application/problem+json).',
    )
    .setVersion(version)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });
}
