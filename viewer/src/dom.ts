// Tiny DOM helpers: elements by id, element building, and the status line.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** Builds an element; children are nodes or text (text is never parsed as HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

/** Shows a message for people in the panel's status line (errors included: the console is for developers). */
export function showStatus(message: string): void {
  byId('status').textContent = message;
}
