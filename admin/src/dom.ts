// The one way the console makes elements. Text goes in as text nodes only: nothing from the API (file
// names, attributes, chunk text, error messages) is ever parsed as HTML. There is no innerHTML here.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export function loading(what = "Loading…"): HTMLElement {
  return h("p", { class: "loading", role: "status" }, what);
}

export function errorBox(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h("p", { class: "error", role: "alert" }, message);
}

export function empty(what: string): HTMLElement {
  return h("p", { class: "empty" }, what);
}

export function when(unix: number | null | undefined): string {
  if (!unix) return "—";
  return new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function table(headers: string[], rows: Child[][], label: string): HTMLTableElement {
  return h(
    "table",
    { "aria-label": label },
    h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))),
  );
}

export function button(label: string, onClick: (event: Event) => void, attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, onclick: onClick as EventListener }, label);
}

export function field(label: string, control: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

/** Runs `work` with the button disabled and a busy label, then shows the error (if any) in `status`. */
export async function busy(target: HTMLButtonElement, status: HTMLElement, work: () => Promise<void>): Promise<void> {
  const label = target.textContent;
  target.disabled = true;
  target.setAttribute("aria-busy", "true");
  clear(status, loading("Working…"));
  try {
    await work();
    clear(status);
  } catch (error) {
    clear(status, errorBox(error));
  } finally {
    target.disabled = false;
    target.removeAttribute("aria-busy");
    target.textContent = label;
  }
}
