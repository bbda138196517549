import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMinSize, IsDefined, IsInt, IsObject, IsOptional, IsString, Length, Min, ValidateIf, ValidateNested, validateSync, ValidatorConstraint,
  ValidatorConstraintInterface, Validate,
} from 'class-validator';
import { fastPathApplies, passesValidation } from './fast-validation';
import { InventoryReserveV1 } from './messages/inventory-reserve.v1';

class Line {
  @IsString() @Length(1, 10) sku!: string;
  @IsInt() @Min(1) quantity!: number;
}
class Base {
  @IsString() id!: string;
}
class Parent extends Base {
  @IsOptional() @IsString() note?: string;
  @IsDefined() @IsObject() @ValidateNested() @Type(() => Line) main!: Line;
  @ArrayMinSize(1) @IsString({ each: true }) tags!: string[];
  @ValidateNested({ each: true }) @Type(() => Line) lines!: Line[];
}
const parent = () => ({ id: 'p-1', note: 'n', main: { sku: 'A', quantity: 1 }, tags: ['x'], lines: [{ sku: 'B', quantity: 2 }] });

/** class-validator's verdict with the options of the HTTP pipe. */
const classValidatorPasses = (cls: new () => object, plain: unknown) =>
  validateSync(plainToInstance(cls, plain) as object, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).length === 0;
const fastPasses = (cls: new () => object, plain: unknown) => passesValidation(plainToInstance(cls, plain) as object);

/** A small deterministic generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}
const ODD_VALUES: unknown[] = [undefined, null, '', 'x', 'x'.repeat(300), 0, -1, 1.5, 2, 1e9, true, {}, [], [1], ['x'], [{}], { sku: 'A', quantity: 1 }, 'GB', 'ada@example.com'];

/** Sets, deletes or adds one property somewhere in a deep copy of `value`. */
function mutate(value: unknown, random: () => number): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  const objects: Array<Record<string, unknown>> = [];
  const walk = (v: unknown) => {
    if (v && typeof v === 'object') {
      objects.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(copy);
  const target = objects[Math.floor(random() * objects.length)];
  const keys = Object.keys(target);
  const key = random() < 0.15 ? 'extra' : keys[Math.floor(random() * keys.length)] ?? 'extra';
  const r = random();
  if (r < 0.2) delete target[key];
  else target[key] = structuredClone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
  return copy;
}

test('a valid object passes without class-validator; an invalid one never does', () => {
  assert.equal(fastPasses(Parent, parent()), true, 'the fast path is taken for a valid object (inherited, optional, nested, each)');
  assert.equal(classValidatorPasses(Parent, parent()), true);
  const { note: _note, ...withoutNote } = parent();
  assert.equal(fastPasses(Parent, withoutNote), true, 'an optional property may be missing');
  for (const bad of [
    { ...parent(), id: 1 }, // inherited rule
    { ...parent(), extra: 1 }, // not whitelisted
    { ...parent(), main: { sku: 'A', quantity: 0 } }, // nested rule
    { ...parent(), main: 'A' }, // nested non-object
    { ...parent(), tags: ['x', 2] }, // each
    { ...parent(), tags: [] },
    { ...parent(), lines: [{ sku: 'B', quantity: 2 }, 'x'] }, // nested array item
  ]) {
    assert.equal(fastPasses(Parent, bad), false, JSON.stringify(bad));
    assert.equal(classValidatorPasses(Parent, bad), false, JSON.stringify(bad));
  }
});

test('it agrees with class-validator on thousands of mutated objects, both ways', () => {
  const random = rng(42);
  let invalid = 0;
  for (let i = 0; i < 3000; i++) {
    const plain = mutate(parent(), random);
    const expected = classValidatorPasses(Parent, plain);
    assert.equal(fastPasses(Parent, plain), expected, `case ${i}: ${JSON.stringify(plain)}`);
    if (!expected) invalid++;
  }
  assert.ok(invalid > 1000, `the mutations mostly break the object (${invalid})`);
});

test('it agrees on a message payload (whitelist without forbidNonWhitelisted: unknown properties go to class-validator)', () => {
  const random = rng(7);
  const valid = { orderId: '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c', tenantId: 'acme', items: [{ sku: 'SKU-1', quantity: 2 }] };
  assert.equal(passesValidation(plainToInstance(InventoryReserveV1, valid)), true);
  for (let i = 0; i < 1000; i++) {
    const plain = mutate(valid, random);
    const instance = plainToInstance(InventoryReserveV1, plain);
    if (passesValidation(instance)) {
      assert.equal(validateSync(instance, { whitelist: true, forbidUnknownValues: true }).length, 0, `case ${i}: ${JSON.stringify(plain)}`);
    }
  }
});

@ValidatorConstraint({ async: true })
class Later implements ValidatorConstraintInterface {
  validate(): Promise<boolean> {
    return Promise.resolve(true);
  }
}
class WithAsync {
  @Validate(Later) a!: string;
}
class WithValidateIf {
  @ValidateIf(() => true) @IsString() a!: string;
}
class Unknown {
  a!: string;
}

test('what it does not plan is left to class-validator: asynchronous rules, ValidateIf, classes without rules, other options', () => {
  assert.equal(passesValidation(plainToInstance(WithAsync, { a: 'x' })), false);
  assert.equal(passesValidation(plainToInstance(WithValidateIf, { a: 'x' })), false);
  assert.equal(passesValidation(plainToInstance(Unknown, { a: 'x' })), false);
  assert.equal(passesValidation({ a: 'x' }), false);
  assert.equal(fastPathApplies({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }), true);
  assert.equal(fastPathApplies({ whitelist: true, groups: ['admin'] }), false);
  assert.equal(fastPathApplies({ skipMissingProperties: true }), false);
  assert.equal(fastPathApplies({ forbidUnknownValues: false }), false);
});
