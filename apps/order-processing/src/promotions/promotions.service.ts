import { Injectable } from '@nestjs/common';
import type { Tx } from '@orders/messaging';
import type { Sql } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { checkCoupon, CouponCheck, CouponProblem, Promotion } from './coupon';
import { PutPromotionDto, PromotionView } from './promotion.dto';
import { PromotionError } from './promotion.error';

interface Row {
  code: string;
  type: 'percent' | 'fixed';
  value: number | string;
  currency: string | null;
  min_subtotal_cents: number | string | null;
  starts_at: Date | null;
  ends_at: Date | null;
  max_redemptions: number | null;
  redemptions: number;
  created_at: Date;
  updated_at: Date;
}

/** bigint columns arrive as strings: money up to 10^12 is exact as a JS number. */
const money = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toPromotion = (r: Row): Promotion => ({
  code: r.code, type: r.type, value: Number(r.value), currency: r.currency, minSubtotalCents: money(r.min_subtotal_cents),
  startsAt: r.starts_at, endsAt: r.ends_at, maxRedemptions: r.max_redemptions, redemptions: r.redemptions,
});

const toView = (r: Row): PromotionView => ({
  ...toPromotion(r),
  startsAt: r.starts_at?.toISOString() ?? null,
  endsAt: r.ends_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export type Redemption = { ok: true; discountCents: number } | { ok: false; problem: CouponProblem };

/** Promotions: admin definitions, and redeeming/returning coupons inside the saga's transactions. */
@Injectable()
export class PromotionsService {
  constructor(private readonly ds: DataSource) {}

  async put(code: string, dto: PutPromotionDto): Promise<{ created: boolean; promotion: PromotionView }> {
    const rows: Array<Row & { created: boolean }> = await this.ds.query(
      `INSERT INTO promotions (code, type, value, currency, min_subtotal_cents, starts_at, ends_at, max_redemptions)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (code) DO UPDATE SET type = EXCLUDED.type, value = EXCLUDED.value, currency = EXCLUDED.currency,
         min_subtotal_cents = EXCLUDED.min_subtotal_cents, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
         max_redemptions = EXCLUDED.max_redemptions, updated_at = now()
       RETURNING *, (xmax = 0) AS created`,
      [code, dto.type, dto.value, dto.currency ?? null, dto.minSubtotalCents ?? null, dto.startsAt ?? null, dto.endsAt ?? null, dto.maxRedemptions ?? null],
    );
    return { created: rows[0].created, promotion: toView(rows[0]) };
  }

  async get(code: string): Promise<PromotionView> {
    const rows: Row[] = await this.ds.query('SELECT * FROM promotions WHERE code = $1', [code]);
    if (!rows[0]) throw new PromotionError('not_found', `promotion ${code} not found`);
    return toView(rows[0]);
  }

  /** What a coupon would take off an order of this subtotal now, read without redeeming it (before authorizing the total). */
  async quote(code: string, subtotalCents: number, currency: string, now = new Date()): Promise<CouponCheck> {
    const rows: Row[] = await this.ds.query('SELECT * FROM promotions WHERE code = $1', [code]);
    return checkCoupon(rows[0] ? toPromotion(rows[0]) : undefined, subtotalCents, currency, now);
  }

  /**
   * Checks and redeems a coupon for one order, in the caller's transaction.
   * The cap holds under any concurrency: the counter moves only through one
   * conditional UPDATE, and the (code, order) row makes a repeat a no-op.
   */
  async redeem(m: Sql, code: string, orderId: string, subtotalCents: number, currency: string, now = new Date()): Promise<Redemption> {
    const rows = await m.query<Row>('SELECT * FROM promotions WHERE code = $1', [code]);
    const check = checkCoupon(rows[0] ? toPromotion(rows[0]) : undefined, subtotalCents, currency, now);
    if (!check.ok) return check;
    const mine = await m.query(
      `INSERT INTO promotion_redemptions (code, order_id, discount_cents) VALUES ($1, $2, $3)
       ON CONFLICT (code, order_id) DO NOTHING RETURNING order_id`,
      [code, orderId, check.discountCents],
    );
    if (mine.length === 0) return check; // this order already holds a redemption
    const counted = await m.query(
      `WITH counted AS (
         UPDATE promotions SET redemptions = redemptions + 1
         WHERE code = $1 AND (max_redemptions IS NULL OR redemptions < max_redemptions) RETURNING code
       ) SELECT code FROM counted`,
      [code],
    );
    if (counted.length === 0) {
      await m.query('DELETE FROM promotion_redemptions WHERE code = $1 AND order_id = $2', [code, orderId]);
      return { ok: false, problem: 'exhausted' };
    }
    return check;
  }

  /** Gives an order's redemption back (cancelled, declined, failed); a no-op when it holds none. */
  giveBack(tx: Tx, orderId: string): void {
    tx.later(
      `WITH gone AS (DELETE FROM promotion_redemptions WHERE order_id = $1 RETURNING code)
       UPDATE promotions p SET redemptions = p.redemptions - 1 FROM gone WHERE p.code = gone.code`,
      [orderId],
    );
  }
}
