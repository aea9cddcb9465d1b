/** DOM helpers of the page. Every value goes in as text (textContent), never as markup. */
export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export function setText(id: string, text: string): void {
  byId(id).textContent = text;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A table row of text cells; the first is a row header. */
export function row(cells: string[], classes: (string | undefined)[] = []): HTMLTableRowElement {
  const tr = el('tr');
  cells.forEach((text, i) => {
    const cell = el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, text);
    const cls = classes[i];
    if (cls) cell.className = cls;
    tr.append(cell);
  });
  return tr;
}

/** A horizontal bar for a share (0–1), sized through the CSSOM (allowed by the page's CSP). */
export function meter(share: number, color?: string): HTMLDivElement {
  const track = el('div', { class: 'meter', 'aria-hidden': 'true' });
  const bar = el('div');
  bar.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
  if (color) bar.style.background = color;
  track.append(bar);
  return track;
}
