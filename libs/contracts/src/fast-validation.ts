import { getMetadataStorage, ValidationArguments, ValidationTypes, ValidatorOptions } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/**
 * class-validator's answer for a valid object, without its cost.
 *
 * class-validator builds an error tree for every object it validates, valid
 * or not: it filters and groups the class's metadata, and allocates a
 * ValidationError per property, on every call. On the intake path that was a
 * third of order-receiving's CPU (validation plus the garbage it left).
 *
 * `passesValidation(obj)` runs the same constraints from the same metadata
 * (the decorators stay the one source of the rules), planned once per class,
 * and answers true only when class-validator would find no error with
 * FAST_PATH_OPTIONS: every property has rules (whitelist), every IsDefined and
 * custom constraint holds (with `each` over arrays, sets and maps as
 * class-validator does), IsOptional skips a null or undefined property, and
 * nested objects pass in turn. Anything it does not plan (asynchronous
 * constraints, ValidateIf, promise validation, schemas) makes it answer false,
 * and so does any failure: the caller then asks class-validator, which gives
 * the errors and their messages. A false answer is never a verdict.
 */
interface Rule {
  property: string;
  /** IsOptional: the property's other rules apply only when these all hold. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  defined: Check[];
  custom: Check[];
  nested: boolean;
}
interface Check {
  validate(value: unknown, args: ValidationArguments): unknown;
  constraints: unknown[];
  each: boolean;
}
type Plan = { properties: Set<string>; rules: Rule[] } | null;

const plans = new Map<Function, Plan>();

function plan(target: Function): Plan {
  let p = plans.get(target);
  if (p === undefined) {
    p = buildPlan(target);
    plans.set(target, p);
  }
  return p;
}

function buildPlan(target: Function): Plan {
  const storage = getMetadataStorage();
  const metadatas: ValidationMetadata[] = storage.getTargetValidationMetadatas(target, '', false, false, undefined);
  if (metadatas.length === 0) return null; // forbidUnknownValues: an error
  const rules = new Map<string, Rule>();
  for (const m of metadatas) {
    if (typeof m.target === 'string') return null;
    let rule = rules.get(m.propertyName);
    if (!rule) {
      rule = { property: m.propertyName, conditions: [], defined: [], custom: [], nested: false };
      rules.set(m.propertyName, rule);
    }
    switch (m.type) {
      case ValidationTypes.WHITELIST:
        break;
      case ValidationTypes.CONDITIONAL_VALIDATION:
        if (m.name !== 'isOptional') return null; // ValidateIf: arbitrary code, left to class-validator
        rule.conditions.push(m.constraints[0] as (object: object, value: unknown) => boolean);
        break;
      case ValidationTypes.NESTED_VALIDATION:
        rule.nested = true;
        break;
      case ValidationTypes.IS_DEFINED:
      case ValidationTypes.CUSTOM_VALIDATION: {
        const constraints = storage.getTargetValidatorConstraints(m.constraintCls);
        if (constraints.length === 0 || constraints.some((c) => c.async)) return null;
        for (const c of constraints) {
          const instance = c.instance as { validate(value: unknown, args: ValidationArguments): unknown };
          (m.type === ValidationTypes.IS_DEFINED ? rule.defined : rule.custom).push({
            validate: instance.validate.bind(instance), constraints: m.constraints, each: m.each,
          });
        }
        break;
      }
      default:
        return null; // promise validation and anything newer
    }
  }
  return { properties: new Set(rules.keys()), rules: [...rules.values()] };
}

const isCollection = (v: unknown): v is unknown[] | Set<unknown> | Map<unknown, unknown> => Array.isArray(v) || v instanceof Set || v instanceof Map;

/** A truthy answer passes, as in class-validator; a promise is left to class-validator. */
const passed = (answer: unknown): boolean => !!answer && typeof (answer as { then?: unknown }).then !== 'function';

function holds(check: Check, object: object, property: string, value: unknown): boolean {
  const args: ValidationArguments = { targetName: object.constructor?.name, property, object, value, constraints: check.constraints };
  if (!check.each || !isCollection(value)) return passed(check.validate(value, args));
  for (const item of value instanceof Map ? value.values() : value) if (!passed(check.validate(item, args))) return false;
  return true;
}

/** class-validator's nestedValidations for one value: collections item by item, objects by their own class. */
function nestedPasses(value: unknown): boolean {
  if (value === undefined) return true;
  if (isCollection(value)) {
    for (const item of value instanceof Map ? value.values() : value) if (!nestedPasses(item)) return false;
    return true;
  }
  return value instanceof Object ? passesValidation(value) : false;
}

/** The options the fast path answers for; other options go to class-validator. */
export const FAST_PATH_OPTIONS = ['whitelist', 'forbidNonWhitelisted', 'forbidUnknownValues', 'validationError', 'stopAtFirstError'] as const;

/** Whether `passesValidation` may stand for class-validator called with these options. */
export function fastPathApplies(o: ValidatorOptions | undefined): boolean {
  return !o || Object.entries(o).every(([k, v]) => v === undefined || (FAST_PATH_OPTIONS as readonly string[]).includes(k)) && o.forbidUnknownValues !== false;
}

/** true: class-validator would find no error in `obj` (see above); false: ask class-validator. */
export function passesValidation(obj: object): boolean {
  const p = plan(obj.constructor);
  if (!p) return false;
  for (const key of Object.keys(obj)) if (!p.properties.has(key)) return false; // whitelist
  const record = obj as Record<string, unknown>;
  for (const rule of p.rules) {
    const value = record[rule.property];
    if (!rule.conditions.every((c) => c(obj, value))) continue;
    for (const c of rule.defined) if (!holds(c, obj, rule.property, value)) return false;
    for (const c of rule.custom) if (!holds(c, obj, rule.property, value)) return false;
    if (rule.nested && !nestedPasses(value)) return false;
  }
  return true;
}
