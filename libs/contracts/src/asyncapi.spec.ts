import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAsyncApiDocument } from './asyncapi';
import { classToJsonSchema } from './json-schema';
import { MESSAGES } from './registry';

type Schema = { properties?: Record<string, { $ref?: string }>; $ref?: string };

test('every validation rule used by a message payload (nested classes included) is mapped into the JSON Schema', () => {
  const defs = new Map();
  const unmapped: string[] = [];
  for (const cls of Object.values(MESSAGES)) classToJsonSchema(cls, defs, (c) => c.name, unmapped);
  assert.deepEqual(unmapped, []);
  assert.ok(defs.size > Object.keys(MESSAGES).length, 'nested classes were walked');
});

test('each message names its version, routing key and payload; nested payload classes are referenced schemas', () => {
  const doc = buildAsyncApiDocument() as {
    asyncapi: string;
    channels: Record<string, { address: string }>;
    components: { messages: Record<string, { payload: { $ref: string }; 'x-message-version': number }>; schemas: Record<string, Schema & { required?: string[] }> };
  };
  assert.equal(doc.asyncapi, '3.0.0');
  assert.deepEqual(Object.keys(doc.channels).sort(), Object.keys(MESSAGES).sort());
  assert.equal(doc.channels['order.placed.v1'].address, 'order.placed.v1');
  assert.equal(doc.components.messages['order.placed.v1']['x-message-version'], 1);
  const placed = doc.components.schemas.OrderPlacedV1;
  assert.equal(doc.components.messages['order.placed.v1'].payload.$ref, '#/components/schemas/OrderPlacedV1');
  assert.equal(placed.properties?.customer.$ref, '#/components/schemas/CustomerV1');
  assert.ok(!placed.required?.includes('couponCode'), 'optional fields are not required');
  assert.deepEqual(doc.components.schemas.CustomerV1.properties?.email, { type: 'string', format: 'email', minLength: 3, maxLength: 254 });
});
