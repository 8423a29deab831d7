// Projects and keys: projects (organization admins create them), a project's keys (create: the secret
// shown once with a copy button; revoke), its rate limits and quotas with what it uses now.
import type { Context } from "../main";
import { Project, ProjectKey, Quotas, RateLimit } from "../api";
import { busy, button, bytes, clear, empty, errorBox, field, h, loading, table, when } from "../dom";
import { can } from "../session";

const QUOTA_USAGE: Record<string, (usage: Quotas["usage"]) => string> = {
  max_files: (u) => `${u.files} files`,
  max_bytes: (u) => bytes(u.bytes),
  max_chunks: (u) => `${u.chunks} chunks`,
};

export async function keysPage(main: HTMLElement, context: Context): Promise<void> {
  const { who, api } = context;
  const projectList = h("section", { "aria-label": "Projects" }, loading("Loading projects…"));
  const detail = h("section", { class: "project-detail", "aria-label": "Project" });
  clear(main, h("h1", {}, "Projects and keys"));
  if (can.manageProjects(who)) main.append(createProjectForm(context, () => keysPage(main, context)));
  main.append(projectList, detail);

  let projects: Project[];
  try {
    projects = await api.all<Project>("/v1/organization/projects");
  } catch (error) {
    clear(projectList, errorBox(error));
    return;
  }
  if (projects.length === 0) {
    clear(projectList, empty("No projects yet: create one above."));
    return;
  }
  const wanted = new URLSearchParams(location.hash.split("?")[1] ?? "").get("project");
  clear(
    projectList,
    table(
      ["Project", "Id", "Status", "Created", ""],
      projects.map((project) => [
        project.name,
        project.id,
        project.status,
        when(project.created_at),
        button("Open", () => showProject(project), { "aria-label": `Open project ${project.name}` }),
      ]),
      "Projects",
    ),
  );
  showProject(projects.find((p) => p.id === wanted) ?? projects[projects.length - 1]);

  function showProject(project: Project): void {
    projectDetail(detail, context, project);
  }
}

function createProjectForm({ api }: Context, done: () => void): HTMLElement {
  const name = h("input", { name: "project-name", required: true, maxlength: 256, autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Create project");
  const status = h("div", { class: "status", "aria-live": "polite" });
  const form = h("form", { class: "card inline", "aria-label": "Create a project" }, field("Project name", name), submit, status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, status, async () => {
      const project = await api.post<Project>("/v1/organization/projects", { name: name.value });
      history.replaceState(null, "", `#/keys?project=${encodeURIComponent(project.id)}`);
      done();
    });
  });
  return form;
}

async function projectDetail(section: HTMLElement, context: Context, project: Project): Promise<void> {
  const { api } = context;
  const base = `/v1/organization/projects/${encodeURIComponent(project.id)}`;
  const keys = h("div", { "aria-label": "Keys" }, loading("Loading keys…"));
  const secret = h("div", { class: "secret-slot", "aria-live": "polite" });
  const limits = h("div", {}, loading("Loading rate limits…"));
  const quotas = h("div", {}, loading("Loading quotas…"));
  clear(
    section,
    h("h2", {}, `Project ${project.name}`),
    h("p", { class: "muted" }, project.id),
    createKeyForm(context, base, secret, () => loadKeys()),
    secret,
    h("h3", {}, "Keys"),
    keys,
    h("h3", {}, "Rate limits"),
    limits,
    h("h3", {}, "Quotas"),
    quotas,
  );

  async function loadKeys(): Promise<void> {
    try {
      const list = await api.all<ProjectKey>(`${base}/api_keys`);
      if (list.length === 0) {
        clear(keys, empty("No keys in this project yet."));
        return;
      }
      clear(
        keys,
        table(
          ["Name", "Key", "Role", "Stores", "Requests/min", "Expires", "Last used", ""],
          list.map((key) => {
            const status = h("span", { class: "status" });
            return [
              key.name || "—",
              key.redacted_value,
              key.role,
              key.vector_store_ids ? key.vector_store_ids.join(", ") : "all",
              key.requests_per_minute ?? "project's",
              when(key.expires_at),
              when(key.last_used_at),
              h(
                "span",
                {},
                button("Revoke", (event) => {
                  if (!confirm(`Revoke key ${key.name || key.redacted_value}? Requests with it are refused from now on.`)) return;
                  busy(event.currentTarget as HTMLButtonElement, status, async () => {
                    await api.delete(`${base}/api_keys/${encodeURIComponent(key.id)}`);
                    await loadKeys();
                  });
                }, { class: "danger", "aria-label": `Revoke key ${key.name || key.redacted_value}` }),
                status,
              ),
            ];
          }),
          "Keys",
        ),
      );
    } catch (error) {
      clear(keys, errorBox(error));
    }
  }

  async function loadLimits(): Promise<void> {
    try {
      const list = await api.get<{ data: RateLimit[] }>(`${base}/rate_limits`);
      clear(
        limits,
        table(
          ["Limit", "What", "Requests per minute (0 = unlimited)", ""],
          list.data.map((limit) => {
            if (!can.setLimits(context.who)) return [limit.id, limit.description, limit.max_requests_per_1_minute, ""];
            const input = h("input", { type: "number", min: 0, value: limit.max_requests_per_1_minute, "aria-label": `${limit.id} requests per minute`, name: limit.id });
            const status = h("span", { class: "status" });
            const save = button("Save", (event) =>
              busy(event.currentTarget as HTMLButtonElement, status, async () => {
                await api.post(`${base}/rate_limits/${encodeURIComponent(limit.id)}`, { max_requests_per_1_minute: input.value === "" ? null : Number(input.value) });
                await loadLimits();
              }), { "aria-label": `Save ${limit.id}` });
            return [limit.id, limit.description, input, h("span", {}, save, status)];
          }),
          "Rate limits",
        ),
      );
    } catch (error) {
      clear(limits, errorBox(error));
    }
  }

  async function loadQuotas(): Promise<void> {
    try {
      const current = await api.get<Quotas>(`${base}/quotas`);
      const names = Object.keys(current).filter((name) => name.startsWith("max_"));
      const inputs = new Map<string, HTMLInputElement>();
      const rows = names.map((name) => {
        const value = Number(current[name]);
        const used = QUOTA_USAGE[name]?.(current.usage) ?? "per store";
        if (!can.setLimits(context.who)) return [name, value === 0 ? "unlimited" : value.toLocaleString("en"), used];
        const input = h("input", { type: "number", min: 0, value, name, "aria-label": `${name} (0 = unlimited)` });
        inputs.set(name, input);
        return [name, input, used];
      });
      const status = h("span", { class: "status" });
      clear(quotas, table(["Quota", "Limit (0 = unlimited)", "Used now"], rows, "Quotas"));
      if (inputs.size) {
        quotas.append(
          button("Save quotas", (event) =>
            busy(event.currentTarget as HTMLButtonElement, status, async () => {
              const body: Record<string, number | null> = {};
              for (const [name, input] of inputs) body[name] = input.value === "" ? null : Number(input.value);
              await api.post(`${base}/quotas`, body);
              await loadQuotas();
            }),
          ),
          status,
        );
      }
    } catch (error) {
      clear(quotas, errorBox(error));
    }
  }

  await Promise.all([loadKeys(), loadLimits(), loadQuotas()]);
}

function createKeyForm(context: Context, base: string, secret: HTMLElement, done: () => Promise<void>): HTMLElement {
  const { api } = context;
  const name = h("input", { name: "key-name", maxlength: 256, autocomplete: "off", placeholder: "indexer" });
  const role = h("select", { name: "key-role", "aria-label": "Role" }, h("option", { value: "read" }, "read"), h("option", { value: "write", selected: true }, "write"), h("option", { value: "admin" }, "admin"));
  const stores = h("input", { name: "key-stores", autocomplete: "off", placeholder: "all stores (or vs_…, vs_…)" });
  const days = h("input", { name: "key-expires-days", type: "number", min: 1, placeholder: "never" });
  const rpm = h("input", { name: "key-rpm", type: "number", min: 1, placeholder: "project's" });
  const submit = h("button", { type: "submit" }, "Create key");
  const status = h("div", { class: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline", "aria-label": "Create a key" },
    field("Key name", name),
    field("Role", role),
    field("Vector stores", stores),
    field("Expires in days", days),
    field("Requests per minute", rpm),
    submit,
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, status, async () => {
      const body: Record<string, unknown> = { name: name.value, role: role.value };
      const ids = stores.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (ids.length) body.vector_store_ids = ids;
      if (days.value) body.expires_in_seconds = Math.round(Number(days.value) * 86400);
      if (rpm.value) body.requests_per_minute = Number(rpm.value);
      const created = await api.post<ProjectKey>(`${base}/api_keys`, body);
      showSecret(secret, context, created);
      await done();
    });
  });
  return form;
}

/** The new key's value, shown this once (the API keeps only its hash). */
function showSecret(slot: HTMLElement, context: Context, created: ProjectKey): void {
  const value = created.value ?? "";
  const output = h("input", { class: "secret", readonly: true, value, "aria-label": "The new key", name: "new-key-value" });
  const copied = h("span", { class: "status", "aria-live": "polite" });
  const label = created.name || created.redacted_value;
  clear(
    slot,
    h(
      "div",
      { class: "card secret-card", role: "region", "aria-label": "New key" },
      h("strong", {}, "Copy this key now: it is shown only once."),
      output,
      button("Copy", async () => {
        output.select();
        try {
          await navigator.clipboard.writeText(value);
          clear(copied, "Copied.");
        } catch {
          clear(copied, "Selected: press Ctrl+C to copy.");
        }
      }),
      button("Use this key in the console", () =>
        context.signIn(value, label, "#/stores").catch((error) => clear(copied, errorBox(error))),
      ),
      button("Done", () => clear(slot), { class: "secondary" }),
      copied,
    ),
  );
  output.focus();
  output.select();
}
