// Search playground: one query in one or two modes side by side, with weights, a typed filter
// builder, max_num_results, score_threshold and rewrite_query; the query terms highlighted.
import type { Context } from "../main";
import { SearchPage, VectorStore } from "../api";
import { append, busy, button, clear, empty, errorBox, field, h, loading } from "../dom";
import { attributesText } from "./stores";

const MODES = ["hybrid", "keyword", "vector"] as const;
const OPERATORS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"] as const;
const TYPES = ["string", "number", "boolean"] as const;

type Filter = { type: string; key: string; value: unknown } | { type: "and" | "or"; filters: Filter[] };

function typed(raw: string, kind: string): string | number | boolean {
  if (kind === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new Error(`"${raw}" is not a number.`);
    return n;
  }
  if (kind === "boolean") {
    if (raw !== "true" && raw !== "false") throw new Error(`"${raw}" is not true or false.`);
    return raw === "true";
  }
  return raw;
}

function select(name: string, options: readonly string[], label: string): HTMLSelectElement {
  return h("select", { name, "aria-label": label }, ...options.map((option) => h("option", { value: option }, option)));
}

class FilterBuilder {
  readonly element: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly combine = select("filter-combine", ["and", "or"], "Combine conditions with");

  constructor() {
    this.rows = h("div", { class: "filter-rows" });
    this.element = h(
      "fieldset",
      { class: "filters" },
      h("legend", {}, "Filters"),
      field("Combine with", this.combine),
      this.rows,
      button("Add condition", () => this.add()),
    );
  }

  add(): void {
    const key = h("input", { name: "filter-key", placeholder: "attribute", "aria-label": "Attribute key", autocomplete: "off" });
    const operator = select("filter-op", OPERATORS, "Operator");
    const value = h("input", { name: "filter-value", placeholder: "value (a,b for in/nin)", "aria-label": "Value", autocomplete: "off" });
    const kind = select("filter-type", TYPES, "Value type");
    const row = h("div", { class: "filter-row" }, key, operator, value, kind);
    row.append(button("Remove", () => row.remove(), { "aria-label": "Remove condition", class: "secondary" }));
    this.rows.append(row);
    key.focus();
  }

  value(): Filter | undefined {
    const conditions: Filter[] = [...this.rows.querySelectorAll<HTMLElement>(".filter-row")].map((row) => {
      const [key, operator, value, kind] = [...row.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")].map((c) => c.value);
      if (!key) throw new Error("Every filter condition needs an attribute key.");
      const parsed = operator === "in" || operator === "nin" ? value.split(",").map((v) => typed(v.trim(), kind)) : typed(value, kind);
      return { type: operator, key, value: parsed };
    });
    if (conditions.length === 0) return undefined;
    if (conditions.length === 1) return conditions[0];
    return { type: this.combine.value as "and" | "or", filters: conditions };
  }
}

/** The text with every query term wrapped in <mark>: built from text nodes, never parsed as HTML. */
export function highlighted(text: string, queries: string[]): HTMLElement {
  const terms = [...new Set(queries.flatMap((q) => q.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []))];
  const block = h("p", { class: "chunk" });
  if (terms.length === 0) {
    block.textContent = text;
    return block;
  }
  const escaped = terms.sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "giu");
  text.split(pattern).forEach((part, index) => append(block, index % 2 === 1 ? h("mark", {}, part) : part));
  return block;
}

export async function searchPage(main: HTMLElement, { api }: Context): Promise<void> {
  clear(main, h("h1", {}, "Search playground"), loading("Loading vector stores…"));
  let stores: VectorStore[];
  try {
    stores = await api.all<VectorStore>("/v1/vector_stores");
  } catch (error) {
    clear(main, h("h1", {}, "Search playground"), errorBox(error));
    return;
  }
  if (stores.length === 0) {
    clear(main, h("h1", {}, "Search playground"), empty("No vector stores to search yet."));
    return;
  }
  const store = h("select", { name: "store", "aria-label": "Vector store" }, ...stores.map((s) => h("option", { value: s.id }, s.name || s.id)));
  const wanted = new URLSearchParams(location.hash.split("?")[1] ?? "").get("store");
  if (wanted) store.value = wanted;
  const query = h("input", { name: "query", type: "search", required: true, maxlength: 4096, autocomplete: "off", placeholder: "What are you looking for?" });
  const mode = select("mode", MODES, "Search mode");
  const compare = h("input", { type: "checkbox", name: "compare" });
  const otherMode = select("compare-mode", MODES, "Second search mode");
  otherMode.value = "keyword";
  const embeddingWeight = h("input", { name: "embedding-weight", type: "number", min: 0, step: 0.1, value: 1 });
  const textWeight = h("input", { name: "text-weight", type: "number", min: 0, step: 0.1, value: 1 });
  const maxResults = h("input", { name: "max-num-results", type: "number", min: 1, max: 50, value: 10 });
  const threshold = h("input", { name: "score-threshold", type: "number", min: 0, max: 1, step: 0.05, value: 0 });
  const rewrite = h("input", { type: "checkbox", name: "rewrite-query" });
  const filters = new FilterBuilder();
  const submit = h("button", { type: "submit" }, "Search");
  const status = h("div", { class: "status", "aria-live": "polite" });
  const results = h("div", { class: "results", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card search-form", "aria-label": "Search" },
    field("Store", store),
    field("Query", query),
    h("div", { class: "inline" }, field("Mode", mode), h("label", { class: "check" }, compare, " side by side with"), otherMode),
    h("div", { class: "inline" }, field("Embedding weight", embeddingWeight), field("Text weight", textWeight), field("max_num_results", maxResults), field("score_threshold", threshold), h("label", { class: "check" }, rewrite, " rewrite_query")),
    filters.element,
    submit,
    status,
  );
  clear(main, h("h1", {}, "Search playground"), form, results);

  async function run(searchMode: string, filter: Filter | undefined): Promise<HTMLElement> {
    const body: Record<string, unknown> = {
      query: query.value,
      search_mode: searchMode,
      max_num_results: Number(maxResults.value),
      rewrite_query: rewrite.checked,
      ranking_options: {
        score_threshold: Number(threshold.value),
        ...(searchMode === "hybrid" ? { hybrid_search: { embedding_weight: Number(embeddingWeight.value), text_weight: Number(textWeight.value) } } : {}),
      },
    };
    if (filter) body.filters = filter;
    const column = h("section", { class: "column", "aria-label": `${searchMode} results`, "data-mode": searchMode }, h("h2", {}, `${searchMode}`));
    try {
      const page = await api.post<SearchPage>(`/v1/vector_stores/${encodeURIComponent(store.value)}/search`, body);
      if (rewrite.checked) column.append(h("p", { class: "rewritten" }, "Searched for: ", page.search_query.join(" | ")));
      if (page.data.length === 0) column.append(empty("No results."));
      const terms = [query.value, ...page.search_query];
      page.data.forEach((hit, rank) =>
        column.append(
          h(
            "article",
            { class: "hit" },
            h("header", {}, h("span", { class: "rank" }, `#${rank + 1}`), h("span", { class: "score" }, hit.score.toFixed(4)), h("span", { class: "filename" }, hit.filename)),
            h("p", { class: "attributes" }, attributesText(hit.attributes)),
            ...hit.content.map((part) => highlighted(part.text, terms)),
          ),
        ),
      );
    } catch (error) {
      column.append(errorBox(error));
    }
    return column;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, status, async () => {
      const filter = filters.value();
      clear(results, loading("Searching…"));
      const modes = compare.checked ? [mode.value, otherMode.value] : [mode.value];
      const columns = await Promise.all(modes.map((m) => run(m, filter)));
      clear(results, ...columns);
      results.classList.toggle("side-by-side", columns.length > 1);
    });
  });
}
