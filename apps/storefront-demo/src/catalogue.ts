/** The demo products (`npm start` seeds them in inventory; prices there are what orders are charged). */
export const CATALOGUE = [
  { sku: 'SKU-TSHIRT', name: 'T-shirt', priceCents: 1999, currency: 'EUR' },
  { sku: 'SKU-MUG', name: 'Mug', priceCents: 899, currency: 'EUR' },
  { sku: 'SKU-POSTER', name: 'Signed poster', priceCents: 4999, currency: 'EUR' },
] as const;

/** Payment tokens the gateway simulator understands. */
export const PAYMENT_TOKENS = { approve: 'tok_ok', decline: 'tok_decline' } as const;
