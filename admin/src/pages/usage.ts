// Usage: per-day charts from /v1/organization/usage/vector_stores (by project or store, over a date
// range) and per-store stats from /v1/organization/projects/{id}/vector_store_stats.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Context } from "../main";
import { Project, StoreStats, UsagePage, UsageResult } from "../api";
import { busy, bytes, clear, empty, errorBox, field, h, loading, table } from "../dom";

const METRICS: { name: keyof UsageResult; title: string }[] = [
  { name: "num_requests", title: "Requests" },
  { name: "num_searches", title: "Searches" },
  { name: "num_files_ingested", title: "Files ingested" },
  { name: "num_chunks_embedded", title: "Chunks embedded" },
  { name: "num_tokens_embedded", title: "Tokens embedded" },
  { name: "usage_bytes", title: "Vector store bytes ingested" },
  { name: "bytes_uploaded", title: "Bytes uploaded" },
];
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
const DAY = 86400;
const MAX_DAYS = 31; // the endpoint's largest page

function isoDay(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

function dayStart(iso: string): number {
  return Math.floor(Date.parse(`${iso}T00:00:00Z`) / 1000);
}

export async function usagePage(main: HTMLElement, { who, api }: Context): Promise<void> {
  const today = dayStart(isoDay(Date.now() / 1000));
  const from = h("input", { type: "date", name: "from", value: isoDay(today - 6 * DAY) });
  const to = h("input", { type: "date", name: "to", value: isoDay(today) });
  const groupBy = h(
    "select",
    { name: "group-by", "aria-label": "Group by" },
    h("option", { value: "" }, "everything together"),
    h("option", { value: "project_id" }, "project"),
    h("option", { value: "vector_store_id" }, "vector store"),
  );
  const project = h("select", { name: "project", "aria-label": "Project" }, h("option", { value: "" }, who.kind === "org-admin" ? "all projects" : "this project"));
  const submit = h("button", { type: "submit" }, "Show");
  const status = h("div", { class: "status", "aria-live": "polite" });
  const charts = h("div", { class: "charts" });
  const stats = h("section", { "aria-label": "Per-store stats" });
  const form = h("form", { class: "card inline", "aria-label": "Usage range" }, field("From", from), field("To", to), field("Group by", groupBy), field("Project", project), submit, status);
  clear(main, h("h1", {}, "Usage"), form, charts, stats);

  let projects: Project[] = [];
  try {
    projects = await api.all<Project>("/v1/organization/projects");
  } catch (error) {
    clear(status, errorBox(error));
  }
  project.append(...projects.map((p) => h("option", { value: p.id }, `${p.name} (${p.id})`)));
  const names = new Map(projects.map((p) => [p.id, p.name]));

  async function draw(): Promise<void> {
    const start = dayStart(from.value);
    const end = dayStart(to.value) + DAY;
    if (!(end > start)) throw new Error("The end date must not be before the start date.");
    if ((end - start) / DAY > 366) throw new Error("Choose at most a year.");
    clear(charts, loading("Loading usage…"));
    delete charts.dataset.for;
    const buckets: UsagePage["data"] = [];
    let page: string | undefined;
    do {
      const answer: UsagePage = await api.get<UsagePage>("/v1/organization/usage/vector_stores", {
        start_time: start,
        end_time: end,
        bucket_width: "1d",
        limit: MAX_DAYS,
        page,
        group_by: groupBy.value ? [groupBy.value] : undefined,
        project_ids: project.value ? [project.value] : undefined,
      });
      buckets.push(...answer.data);
      page = answer.has_more && answer.next_page ? answer.next_page : undefined;
    } while (page);
    const days = buckets.map((bucket) => bucket.start_time);
    const groupOf = (result: UsageResult) =>
      groupBy.value === "project_id" ? (result.project_id ?? "—") : groupBy.value === "vector_store_id" ? (result.vector_store_id ?? "(no store)") : "all";
    const groups = [...new Set(buckets.flatMap((bucket) => bucket.results.map(groupOf)))].sort();
    clear(charts);
    charts.dataset.for = project.value || "all"; // which answer is drawn (tests wait for theirs)
    if (groups.length === 0) {
      charts.append(empty("No usage in this range."));
      return;
    }
    for (const metric of METRICS) {
      const series = groups.map((group) =>
        buckets.map((bucket) => bucket.results.filter((r) => groupOf(r) === group).reduce((sum, r) => sum + Number(r[metric.name] ?? 0), 0)),
      );
      const total = series.flat().reduce((a, b) => a + b, 0);
      const box = h("figure", { class: "chart", "data-metric": metric.name, "data-total": total });
      charts.append(box);
      box.append(h("figcaption", {}, `${metric.title}: ${metric.name.includes("bytes") ? bytes(total) : total.toLocaleString("en")} in all`));
      const width = Math.max(280, Math.min(560, box.clientWidth || 520));
      new uPlot(
        {
          width,
          height: 200,
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
          legend: { show: groups.length > 1 }, // one line needs no key
          axes: [{}, { size: 60 }],
          series: [
            { label: "day", value: (_u, v) => (v == null ? "—" : isoDay(v)) },
            ...groups.map((group, i) => ({
              label: names.get(group) ?? group,
              stroke: COLOURS[i % COLOURS.length],
              fill: COLOURS[i % COLOURS.length] + "22",
              width: 2,
              points: { show: true, size: 6 },
            })),
          ],
        },
        [days, ...series],
        box,
      );
    }
  }

  async function drawStats(): Promise<void> {
    const projectId = project.value || who.projectId || projects[0]?.id;
    if (!projectId) {
      clear(stats, h("h2", {}, "Per-store stats"), empty("No project to show."));
      return;
    }
    clear(stats, h("h2", {}, `Per-store stats: ${names.get(projectId) ?? projectId}`), loading("Loading stats…"));
    try {
      const rows = await api.all<StoreStats>(`/v1/organization/projects/${encodeURIComponent(projectId)}/vector_store_stats`);
      stats.lastChild?.remove();
      stats.append(
        rows.length === 0
          ? empty("This project has no vector stores.")
          : table(
              ["Store", "Id", "Size", "Chunks", "Files completed", "In progress", "Failed", "Total"],
              rows.map((s) => [s.name, s.id, bytes(s.usage_bytes), s.chunk_count, s.file_counts.completed, s.file_counts.in_progress, s.file_counts.failed, s.file_counts.total]),
              "Per-store stats",
            ),
      );
    } catch (error) {
      stats.lastChild?.remove();
      stats.append(errorBox(error));
    }
  }

  const show = () => busy(submit, status, async () => {
    await Promise.all([draw().catch((error) => clear(charts, errorBox(error))), drawStats()]);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  await show();
}
