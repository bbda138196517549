import { getMetadataStorage } from 'class-validator';

/** class-transformer's `@Type` registry (not in its public typings): the class of a nested property. */
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: { findTypeMetadata(target: object, property: string): { typeFunction: () => unknown } | undefined };
};

/** The subset of JSON Schema the contracts' validation rules map to. */
export interface JsonSchema {
  type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  $ref?: string;
  description?: string;
}

type Ctor = abstract new (...args: never[]) => unknown;

/** The class-validator rules this mapping understands (a contract using another one needs a case below). */
export const MAPPED_RULES: readonly string[] = [
  'isString', 'isInt', 'isNumber', 'isBoolean', 'isEmail', 'isUuid', 'isIso8601', 'isDateString', 'isUrl', 'isURL', 'isLength', 'maxLength',
  'minLength', 'matches', 'min', 'max', 'isIn', 'isEnum', 'isArray', 'arrayMinSize', 'arrayMaxSize', 'isObject', 'isOptional',
];

interface Rule {
  type: string;
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each: boolean;
}

/** Applies one class-validator rule to a property's schema (to `items` for `{each: true}`). */
function applyRule(s: JsonSchema, r: Rule, refOf: (c: Ctor) => string, nested?: Ctor): void {
  const c = r.constraints ?? [];
  const t = r.each && s.type === 'array' ? (s.items ??= {}) : s;
  switch (r.name) {
    case 'isString': t.type = 'string'; break;
    case 'isInt': t.type = 'integer'; break;
    case 'isNumber': t.type = 'number'; break;
    case 'isBoolean': t.type = 'boolean'; break;
    case 'isEmail': t.type = 'string'; t.format = 'email'; break;
    case 'isUuid': t.type = 'string'; t.format = 'uuid'; break;
    case 'isIso8601': case 'isDateString': t.type = 'string'; t.format = 'date-time'; break;
    case 'isUrl': case 'isURL': t.type = 'string'; t.format = 'uri'; break;
    case 'isLength': t.type = 'string'; t.minLength = c[0] as number; if (c[1] !== undefined) t.maxLength = c[1] as number; break;
    case 'maxLength': t.type = 'string'; t.maxLength = c[0] as number; break;
    case 'minLength': t.type = 'string'; t.minLength = c[0] as number; break;
    case 'matches': t.type = 'string'; t.pattern = c[0] instanceof RegExp ? c[0].source : String(c[0]); break;
    case 'min': t.minimum = c[0] as number; break;
    case 'max': t.maximum = c[0] as number; break;
    case 'isIn': t.enum = [...(c[0] as unknown[])]; break;
    case 'isEnum': t.enum = Object.values(c[0] as object); break;
    case 'isArray': s.type = 'array'; break;
    case 'arrayMinSize': s.type = 'array'; s.minItems = c[0] as number; break;
    case 'arrayMaxSize': s.type = 'array'; s.maxItems = c[0] as number; break;
    case 'isObject': t.type = 'object'; break;
    default:
      if (r.type === 'nestedValidation' && nested) {
        if (r.each) { s.type = 'array'; s.items = { ...(s.items ?? {}), $ref: refOf(nested) }; }
        else s.$ref = refOf(nested);
      }
  }
}

/**
 * JSON Schema of a class from its class-validator rules (and class-transformer
 * `@Type` for nested classes): the same metadata that validates every message
 * on arrival, so the published schema cannot drift from what is accepted.
 * Nested classes are added to `defs` and referenced through `refOf`; rules
 * the mapping does not know are listed in `unmapped`.
 */
export function classToJsonSchema(cls: Ctor, defs: Map<Ctor, JsonSchema>, refOf: (c: Ctor) => string, unmapped: string[] = []): JsonSchema {
  const existing = defs.get(cls);
  if (existing) return existing;
  const schema: JsonSchema = { type: 'object', properties: {}, required: [], additionalProperties: true };
  defs.set(cls, schema);
  const rules = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false) as Rule[];
  const optional = new Set(rules.filter((r) => r.type === 'conditionalValidation').map((r) => r.propertyName));
  for (const r of rules) {
    const prop = (schema.properties![r.propertyName] ??= {});
    const nested = r.type === 'nestedValidation' ? (defaultMetadataStorage.findTypeMetadata(cls, r.propertyName)?.typeFunction() as Ctor | undefined) : undefined;
    if (nested) classToJsonSchema(nested, defs, refOf, unmapped);
    if (r.type === 'customValidation' && !MAPPED_RULES.includes(r.name ?? '')) unmapped.push(`${cls.name}.${r.propertyName}: ${r.name}`);
    applyRule(prop, r, refOf, nested);
  }
  for (const p of Object.keys(schema.properties!)) if (!optional.has(p)) schema.required!.push(p);
  // A $ref next to other keywords is ignored by some tools: keep references bare.
  for (const p of Object.values(schema.properties!)) if (p.$ref) for (const k of Object.keys(p) as Array<keyof JsonSchema>) if (k !== '$ref') delete p[k];
  return schema;
}
