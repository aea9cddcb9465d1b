/**
 * The shop's product catalog: products 100–999 in ten categories of 90, each with a brand.
 * Deterministic, so every enrich instance (and every test) agrees on it.
 */
export const CATEGORIES = [
  'electronics',
  'books',
  'home',
  'garden',
  'toys',
  'sports',
  'fashion',
  'beauty',
  'grocery',
  'automotive',
] as const;

export const BRANDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Soylent', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Aperture'] as const;

export interface Product {
  category: (typeof CATEGORIES)[number];
  brand: (typeof BRANDS)[number];
}

export function productOf(productId: number): Product {
  if (!Number.isInteger(productId) || productId < 100 || productId > 999) throw new RangeError(`no product ${productId}`);
  return {
    category: CATEGORIES[Math.floor((productId - 100) / 90)]!,
    brand: BRANDS[(productId * 7) % BRANDS.length]!,
  };
}
