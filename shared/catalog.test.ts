import { describe, expect, it } from 'vitest';
import { BRANDS, CATEGORIES, productOf } from './catalog.ts';

describe('productOf', () => {
  it('maps products to ten categories of 90', () => {
    expect(productOf(100).category).toBe('electronics');
    expect(productOf(189).category).toBe('electronics');
    expect(productOf(190).category).toBe('books');
    expect(productOf(909).category).toBe('grocery');
    expect(productOf(910).category).toBe('automotive');
    expect(productOf(999).category).toBe('automotive');
    const perCategory = new Map<string, number>();
    for (let id = 100; id <= 999; id++) {
      const { category } = productOf(id);
      perCategory.set(category, (perCategory.get(category) ?? 0) + 1);
    }
    expect([...perCategory.keys()]).toEqual([...CATEGORIES]);
    expect([...perCategory.values()].every((n) => n === 90)).toBe(true);
  });

  it('gives every product a known brand, deterministically', () => {
    const brands = new Set<string>();
    for (let id = 100; id <= 999; id++) {
      const product = productOf(id);
      expect(productOf(id)).toEqual(product);
      expect(BRANDS).toContain(product.brand);
      brands.add(product.brand);
    }
    expect(brands.size).toBe(BRANDS.length);
    // Pinned: events already stored carry these, so a change would split a product's history.
    expect(productOf(100)).toEqual({ category: 'electronics', brand: 'Hooli' });
    expect(productOf(250)).toEqual({ category: 'books', brand: 'Cyberdyne' });
    expect(productOf(512)).toEqual({ category: 'toys', brand: 'Wonka' });
  });

  it.each([99, 1000, 0, -1, 100.5, Number.NaN, Number.POSITIVE_INFINITY])('throws a RangeError for product %d', (id) => {
    expect(() => productOf(id)).toThrow(RangeError);
    expect(() => productOf(id)).toThrow(/no product/);
  });
});
