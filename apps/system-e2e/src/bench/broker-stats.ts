import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * What the broker itself counted, read with `rabbitmqctl eval` (the broker
 * has no management plugin). RabbitMQ keeps per-channel counters in ETS
 * tables only while `collect_statistics` is not `none`, and a channel reads
 * that setting when it opens: `enableChannelStats` sets `fine` before the
 * services start and gives back a restore for the previous value.
 *
 * RabbitMQ 3.10 (rabbit_core_metrics): `channel_queue_metrics` rows are
 * `{{ChPid, QueueResource}, Get, GetNoAck, Deliver, DeliverNoAck, Redeliver,
 * Ack, GetEmpty, DeleteMarker}` (Deliver includes redeliveries: Redeliver
 * counts the subset flagged redelivered); `channel_exchange_metrics` rows are
 * `{{ChPid, ExchangeResource}, Publish, Confirm, ReturnUnroutable,
 * DropUnroutable, DeleteMarker}`. Rows of a channel that closed are dropped
 * by the broker's metrics GC, so a channel closing during a measurement
 * loses its counts (none do in a healthy run).
 */
const run = promisify(execFile);

async function evalErlang(expr: string): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'eval', expr], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export interface ChannelStats {
  /** The value found (`{ok,fine}`, `{ok,none}`, `undefined`), as the broker printed it. */
  previous: string;
  restore(): Promise<void>;
}

/** Sets `collect_statistics` to `fine`; the caller must call restore() (in a finally). Throws if rabbitmqctl is unusable. */
export async function enableChannelStats(): Promise<ChannelStats> {
  const previous = (await evalErlang('io:format("~p~n", [application:get_env(rabbit, collect_statistics)]), ok.')).split('\n')[0].trim();
  const m = /^\{ok,([a-z_]+)\}$/.exec(previous);
  if (!m && previous !== 'undefined') throw new Error(`unexpected collect_statistics: ${previous}`);
  await evalErlang('application:set_env(rabbit, collect_statistics, fine).');
  return {
    previous,
    async restore() {
      await evalErlang(m ? `application:set_env(rabbit, collect_statistics, ${m[1]}).` : 'application:unset_env(rabbit, collect_statistics).');
    },
  };
}

export interface BrokerReading {
  /** Per queue (the name without the prefix): deliveries (deliver + deliver_no_ack + get + get_no_ack) and redeliveries. */
  queues: Record<string, { deliveries: number; redeliveries: number }>;
  /** Publishes to `${prefix}.events`. */
  publishes: number;
  /** Messages ready or unacknowledged in the prefix's queues, dead-letter queues left out. */
  backlog: number;
}

/** The Erlang expression behind readBroker: per-queue sums over every channel of the prefix's queues, and the exchange's publishes. */
export function brokerExpression(prefix: string): string {
  if (!/^[a-z0-9_.-]+$/.test(prefix)) throw new Error(`prefix not safe to embed: ${prefix}`);
  return [
    `P = <<"${prefix}.">>, L = byte_size(P), X = <<"${prefix}.events">>,`,
    'InP = fun(N) -> byte_size(N) > L andalso binary_part(N, 0, L) =:= P end,',
    'Q = ets:foldl(fun({{_, {resource, _, queue, N}}, G, GN, D, DN, R, _, _, _}, A) ->',
    '      case InP(N) of true -> {D0, R0} = maps:get(N, A, {0, 0}), A#{N => {D0 + G + GN + D + DN, R0 + R}}; false -> A end;',
    '    (_, A) -> A end, #{}, channel_queue_metrics),',
    'Pub = ets:foldl(fun({{_, {resource, _, exchange, N}}, Pb, _, _, _, _}, A) when N =:= X -> A + Pb; (_, A) -> A end, 0, channel_exchange_metrics),',
    'Count = fun(I) -> case proplists:get_value(messages, I) of M when is_integer(M) -> M; _ -> 0 end end,',
    'B = lists:sum([Count(I) || I <- rabbit_amqqueue:info_all(<<"/">>, [name, messages]),',
    '      {resource, _, queue, N} <- [proplists:get_value(name, I)], InP(N), binary:longest_common_suffix([N, <<".dlq">>]) =/= 4]),',
    '[io:format("Q\\t~s\\t~b\\t~b~n", [N, D, R]) || {N, {D, R}} <- maps:to_list(Q)],',
    'io:format("X\\t~b~nB\\t~b~n", [Pub, B]), ok.',
  ].join(' ');
}

export async function readBroker(prefix: string): Promise<BrokerReading> {
  const out = await evalErlang(brokerExpression(prefix));
  const r: BrokerReading = { queues: {}, publishes: NaN, backlog: NaN };
  for (const line of out.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'Q' && f.length === 4) r.queues[f[1].slice(prefix.length + 1)] = { deliveries: Number(f[2]), redeliveries: Number(f[3]) };
    else if (f[0] === 'X' && f.length === 2) r.publishes = Number(f[1]);
    else if (f[0] === 'B' && f.length === 2) r.backlog = Number(f[1]);
  }
  if (Number.isNaN(r.publishes) || Number.isNaN(r.backlog)) throw new Error(`rabbitmqctl eval answered: ${out.slice(0, 500)}`);
  return r;
}

export interface BrokerCost {
  deliveriesPerOrder: number;
  redeliveriesPerOrder: number;
  publishesPerOrder: number;
  /** Biggest first. */
  perQueue: Array<{ queue: string; deliveriesPerOrder: number; redeliveries: number }>;
}

/** What happened between two readings, per order. */
export function brokerCost(before: BrokerReading, after: BrokerReading, orders: number): BrokerCost {
  const per = (x: number) => Math.round((x / orders) * 100) / 100;
  const perQueue: BrokerCost['perQueue'] = [];
  let deliveries = 0;
  let redeliveries = 0;
  for (const [queue, a] of Object.entries(after.queues)) {
    const b = before.queues[queue] ?? { deliveries: 0, redeliveries: 0 };
    const d = a.deliveries - b.deliveries;
    const rd = a.redeliveries - b.redeliveries;
    if (d === 0 && rd === 0) continue;
    deliveries += d;
    redeliveries += rd;
    perQueue.push({ queue, deliveriesPerOrder: per(d), redeliveries: rd });
  }
  perQueue.sort((x, y) => y.deliveriesPerOrder - x.deliveriesPerOrder || x.queue.localeCompare(y.queue));
  return { deliveriesPerOrder: per(deliveries), redeliveriesPerOrder: per(redeliveries), publishesPerOrder: per(after.publishes - before.publishes), perQueue };
}
