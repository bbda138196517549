import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { buildAsyncApiDocument } from '@orders/contracts';

/**
 * OpenAPI document at /openapi.json and its UI at /docs, generated from the controllers and the @orders/dto classes;
 * next to it the AsyncAPI 3 document of the message contracts at /asyncapi.json, generated from @orders/contracts.
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Storefront API (order-receiving)')
    .setDescription(
      'Orders are accepted at once (202) and processed asynchronously. Errors are JSON {statusCode, error, message, details?}. ' +
        'Authenticate with Authorization: Bearer <API key>; every request is scoped to the key\'s tenant.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  const asyncApi = JSON.stringify(buildAsyncApiDocument());
  app.getHttpAdapter().getInstance().get('/asyncapi.json', (_req, reply) => {
    void reply.header('content-type', 'application/json; charset=utf-8').send(asyncApi);
  });
}
