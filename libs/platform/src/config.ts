import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { flattenValidationErrors } from '@orders/contracts';

/**
 * Reads an env string as a boolean: only "true"/"1" and "false"/"0" are
 * accepted. It reads the variable as given (`obj[key]`): implicit conversion
 * has already made any non-empty string, "false" too, `true`.
 */
export const EnvBool = () =>
  Transform(({ obj, key }) => {
    const value = (obj as Record<string, unknown>)[key];
    return value === true || value === 'true' || value === '1' ? true : value === false || value === 'false' || value === '0' ? false : value;
  });

/** Whether a class is a service's configuration (BaseEnv or one extending it). */
export const isConfigClass = (cls: Function): boolean => cls === BaseEnv || cls.prototype instanceof BaseEnv;

const SECRETS = new WeakMap<object, Set<string>>();

/**
 * Marks a setting as a secret: with `NODE_ENV=production` a service refuses
 * to start while it still has its development default.
 */
export const Secret = (): PropertyDecorator => (target, key) => {
  const own = SECRETS.get(target) ?? new Set<string>();
  own.add(String(key));
  SECRETS.set(target, own);
};

const PRODUCTION_DEFAULTS = new WeakMap<object, Map<string, unknown>>();

/**
 * The setting's default with `NODE_ENV=production`, where it differs from
 * the development one (the property's initialiser); set explicitly, the
 * variable wins either way.
 */
export const ProductionDefault = (value: unknown): PropertyDecorator => (target, key) => {
  const own = PRODUCTION_DEFAULTS.get(target) ?? new Map<string, unknown>();
  own.set(String(key), value);
  PRODUCTION_DEFAULTS.set(target, own);
};

/** The production defaults of a config class, its base classes' included (a subclass's own win). */
function productionDefaults(cls: new () => object): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (let p: object | null = cls.prototype as object; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const [k, v] of PRODUCTION_DEFAULTS.get(p) ?? []) if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/**
 * Settings every service reads. Each service extends it with its own
 * variables; every one has a working development default.
 */
export class BaseEnv {
  @Matches(/^amqps?:\/\/\S+$/, { message: 'must be an amqp:// or amqps:// URL' })
  RABBITMQ_URL: string = 'amqp://guest:guest@127.0.0.1:5672';

  @Matches(/^postgres(ql)?:\/\/\S+\/[a-z_][a-z0-9_]*$/, { message: 'must be a postgres:// URL naming a database' })
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/orders';

  /** Prefix of every exchange and queue name: one broker can host several isolated installations. */
  @Matches(/^[a-z][a-z0-9_-]{0,40}$/, { message: 'must be lower-case letters, digits, _ or -' })
  MQ_PREFIX: string = 'orders';

  /** Delays between attempts of a failing message; after the last it goes to the dead-letter queue. */
  @Matches(/^\d{1,9}(,\d{1,9}){0,9}$/, { message: 'must be a comma-separated list of 1-10 millisecond delays' })
  RETRY_DELAYS_MS: string = '1000,5000,30000';

  @Type(() => Number) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE: number = 10;

  /**
   * Hot statements are prepared once per connection and then sent as
   * `EXECUTE` (@orders/persistence, prepared.ts); false sends every
   * statement as text (behind a pooler in transaction mode, whose
   * connections are not the session's own).
   */
  @EnvBool() @IsBoolean()
  DB_PREPARED_STATEMENTS: boolean = true;

  /**
   * Most messages of one queue handled in one transaction (where the queue's
   * handlers allow it); 1 handles each message in its own transaction. A
   * batch never holds more than the queue's prefetch.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  BATCH_MAX_MESSAGES: number = 32;

  /**
   * Most messages of one routing key published as one broker message (a
   * pack: one delivery, one ack for all of them; each still handled on its
   * own). 1 publishes each alone: set it while upgrading from a version
   * that cannot read packs, until every service runs this one.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(256)
  MESSAGE_PACK_MAX: number = 32;

  /** Kind of RabbitMQ queue: classic or quorum (replicated). Queues keep the kind they were declared with (see README). */
  @IsIn(['classic', 'quorum'])
  QUEUE_TYPE: 'classic' | 'quorum' = 'classic';

  /** The service's own schema in the database; no other service reads it. */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case SQL identifier' })
  DB_SCHEMA: string = 'public';

  /** HTTP port; 0 picks a free one (tests). */
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT: number = 3000;

  @IsString()
  HOST: string = '0.0.0.0';

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: string = 'log';

  /**
   * A statement running longer than this is cancelled (and a transaction
   * left idle three times as long is ended): a database that is slow but up
   * answers 503 and defers messages instead of holding every connection and
   * request. 0: no limit.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(600000)
  DB_STATEMENT_TIMEOUT_MS: number = 10000;

  /** Bearer token of the admin and operator endpoints (products, promotions, dead letters, pausing queues). */
  @Secret() @IsString() @Matches(/^\S{8,}$/, { message: 'must be at least 8 characters without spaces' })
  ADMIN_TOKEN: string = 'dev-admin-token';

  /**
   * How long one rendering of `GET /metrics` serves every scrape: scrapes at
   * any rate cost one collection (the gauges that ask the database or the
   * broker) per interval. Default: 5000 with `NODE_ENV=production`, 0 (every
   * scrape collects, what you read is current) in development and tests.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(300_000) @ProductionDefault(5000)
  METRICS_CACHE_MS: number = 0;

  /**
   * `GET /metrics` only with `Authorization: Bearer <ADMIN_TOKEN>` (401
   * otherwise): it names tenants and sits on the public port. Default: true
   * with `NODE_ENV=production`, false in development (dashboards and
   * `npm start` scrape without one).
   */
  @EnvBool() @IsBoolean() @ProductionDefault(true)
  METRICS_REQUIRE_TOKEN: boolean = false;

  get retryDelaysMs(): number[] {
    return this.RETRY_DELAYS_MS.split(',').map(Number);
  }
}

/** The secret settings of a config class, its base classes' included. */
export function secretNames(cls: new () => object): string[] {
  const names = new Set<string>();
  for (let p: object | null = cls.prototype as object; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const n of SECRETS.get(p) ?? []) names.add(n);
  }
  return [...names].sort();
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Builds the typed settings object from the environment, validating every
 * variable and reporting all bad ones at once, by name and rule, never by
 * value (a malformed secret must not end up in a log). With
 * `NODE_ENV=production`, every `@Secret()` still at its development default
 * is a problem too, and a `@ProductionDefault()` replaces the development
 * default.
 */
export function loadConfig<T extends object>(cls: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const defaults = new cls() as Record<string, unknown>;
  if (env.NODE_ENV === 'production') for (const [k, v] of productionDefaults(cls)) defaults[k] = v;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) raw[key] = env[key] !== undefined && env[key] !== '' ? env[key] : defaults[key];
  const cfg = plainToInstance(cls, raw, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(cfg, { forbidUnknownValues: true });
  const problems = flattenValidationErrors(errors);
  if (env.NODE_ENV === 'production') {
    for (const name of secretNames(cls)) {
      if (raw[name] === defaults[name]) problems.push(`${name}: still has its development default; set a secret of your own in production`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}
