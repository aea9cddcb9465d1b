/**
 * The Kibana saved objects (platform/kibana/saved-objects.ndjson) match the index mappings of
 * shared/elasticsearch.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregatesMapping, eventsMapping } from '../../shared/elasticsearch.ts';
import { platformDir } from './fixtures.ts';

describe('saved objects', () => {
  const ndjson = readFileSync(join(platformDir, 'kibana', 'saved-objects.ndjson'), 'utf8');
  type SavedObject = { id: string; type: string; attributes: Record<string, any>; references: { id: string; type: string; name: string }[] };
  const objects = ndjson
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SavedObject);
  const byId = new Map(objects.map((o) => [o.id, o]));
  const mappings: Record<string, { properties?: Record<string, { type?: string }> }> = { events: eventsMapping, 'events-aggregated': aggregatesMapping };
  const fieldType = (dataViewId: string, field: string): string | undefined => mappings[byId.get(dataViewId)!.attributes['title']]?.properties?.[field]?.type;

  it('are one object a line with unique ids, and every reference resolves', () => {
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
    for (const object of objects) {
      for (const ref of object.references) expect(byId.get(ref.id)?.type, `${object.id} → ${ref.id}`).toBe(ref.type);
    }
  });

  it('include data views over events (timestamp) and events-aggregated (window_start)', () => {
    const views = objects.filter((o) => o.type === 'index-pattern').map((o) => [o.attributes['title'], o.attributes['timeFieldName']]);
    expect(views).toEqual([
      ['events', 'timestamp'],
      ['events-aggregated', 'window_start'],
    ]);
    for (const view of objects.filter((o) => o.type === 'index-pattern')) expect(fieldType(view.id, view.attributes['timeFieldName']), view.id).toBe('date');
  });

  it('have a saved search whose columns and sort are fields of its index', () => {
    const searches = objects.filter((o) => o.type === 'search');
    expect(searches.length).toBe(1);
    for (const search of searches) {
      const view = search.references.find((r) => r.name === 'kibanaSavedObjectMeta.searchSourceJSON.index')!.id;
      for (const field of [...search.attributes['columns'], ...search.attributes['sort'].map((s: string[]) => s[0])]) {
        expect(fieldType(view, field), `${search.id}: ${field}`).toBeDefined();
      }
    }
  });

  it('have a dashboard whose panels use fields the mappings have, with the right types', () => {
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dashboard.attributes['panelsJSON']) as Record<string, any>[];
    expect(panels.length).toBeGreaterThanOrEqual(3);
    const refNames = new Set(dashboard.references.map((r) => r.name));
    const want: Record<string, string[]> = { date_histogram: ['date'], sum: ['long', 'double', 'integer'], terms: ['keyword'] };
    for (const panel of panels) {
      if (panel['panelRefName']) {
        expect(refNames.has(`${panel['panelIndex']}:${panel['panelRefName']}`), panel['panelIndex']).toBe(true);
        continue;
      }
      const attributes = panel['embeddableConfig'].attributes;
      for (const [layerId, layer] of Object.entries(attributes.state.datasourceStates.formBased.layers as Record<string, any>)) {
        const ref = dashboard.references.find((r) => r.name === `${panel['panelIndex']}:indexpattern-datasource-layer-${layerId}`);
        expect(ref, `${panel['panelIndex']} layer ${layerId}`).toBeDefined();
        expect(layer.columnOrder.sort()).toEqual(Object.keys(layer.columns).sort());
        for (const column of Object.values(layer.columns as Record<string, any>)) {
          if (column.operationType === 'count') continue;
          expect(want[column.operationType], column.operationType).toContain(fieldType(ref!.id, column.sourceField));
        }
      }
    }
  });
});
