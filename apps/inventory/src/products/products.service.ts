import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InventoryError } from '../inventory.error';
import { ListProductsQuery, ProductPage, ProductView, PutProductBody } from './product.dto';

interface ProductRow {
  sku: string;
  name: string;
  price_cents: number;
  currency: string;
  stock: number;
  reserved: number;
}

const COLUMNS = 'sku, name, price_cents, currency, stock, reserved';
const DEFAULT_PAGE = 100;

export const toView = (r: ProductRow): ProductView => ({
  sku: r.sku,
  name: r.name,
  priceCents: r.price_cents,
  currency: r.currency,
  stock: r.stock,
  reserved: r.reserved,
  available: r.stock - r.reserved,
});

@Injectable()
export class ProductsService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Creates or replaces a product in one statement. A replacement that would
   * leave fewer units on hand than are reserved for open orders changes nothing.
   */
  async put(sku: string, p: PutProductBody): Promise<{ created: boolean; product: ProductView }> {
    const rows: Array<ProductRow & { created: boolean }> = await this.ds.query(
      `INSERT INTO products (sku, name, price_cents, currency, stock) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (sku) DO UPDATE
         SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
             stock = EXCLUDED.stock, updated_at = now()
         WHERE products.reserved <= EXCLUDED.stock
       RETURNING ${COLUMNS}, (xmax = 0) AS created`,
      [sku, p.name, p.priceCents, p.currency, p.stock],
    );
    if (rows.length === 0) {
      const current = await this.find(sku);
      const reserved = current?.reserved ?? 0;
      throw new InventoryError(
        'stock_below_reserved',
        `stock ${p.stock} is below the ${reserved} units of ${sku} reserved for open orders`,
        { field: 'stock', reserved },
      );
    }
    const { created, ...row } = rows[0];
    return { created, product: toView(row) };
  }

  async get(sku: string): Promise<ProductView> {
    const found = await this.find(sku);
    if (!found) throw new InventoryError('product_not_found', `no product with sku ${sku}`);
    return found;
  }

  /** Products ordered by sku, one page at a time; `nextCursor` is null on the last page. */
  async list(q: ListProductsQuery): Promise<ProductPage> {
    const limit = q.limit ?? DEFAULT_PAGE;
    const rows: ProductRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM products WHERE ($1::text IS NULL OR sku > $1::text) ORDER BY sku LIMIT $2`,
      [q.cursor ?? null, limit + 1],
    );
    const items = rows.slice(0, limit).map(toView);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].sku : null };
  }

  private async find(sku: string): Promise<ProductView | undefined> {
    const rows: ProductRow[] = await this.ds.query(`SELECT ${COLUMNS} FROM products WHERE sku = $1`, [sku]);
    return rows[0] && toView(rows[0]);
  }
}
