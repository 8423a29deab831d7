// Stores: the list, one store's files (upload with per-file progress, attach, attributes, detach,
// delete, parsed content).
import type { Context } from "../main";
import { Attributes, FileObject, VectorStore, VectorStoreFile } from "../api";
import { append, busy, button, bytes, clear, empty, errorBox, field, h, loading, table, when } from "../dom";
import { can } from "../session";

function counts(store: VectorStore): string {
  const c = store.file_counts;
  return `${c.completed}/${c.total} completed` + (c.in_progress ? `, ${c.in_progress} in progress` : "") + (c.failed ? `, ${c.failed} failed` : "");
}

function model(store: VectorStore): string {
  if (!store.embedding_model) return "—";
  return store.embedding_dimension ? `${store.embedding_model} (${store.embedding_dimension})` : store.embedding_model;
}

export function attributesText(attributes: Attributes | null): string {
  if (!attributes || Object.keys(attributes).length === 0) return "—";
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(", ");
}

export async function storesPage(main: HTMLElement, context: Context): Promise<void> {
  const { who, api } = context;
  const list = h("section", { "aria-label": "Vector stores" }, loading("Loading vector stores…"));
  clear(main, h("h1", {}, "Vector stores"));
  if (can.write(who)) main.append(createStoreForm(api, () => storesPage(main, context)));
  main.append(list);
  try {
    const stores = await api.all<VectorStore>("/v1/vector_stores");
    if (stores.length === 0) {
      clear(list, empty(can.write(who) ? "No vector stores yet: create one above." : "No vector stores yet."));
      return;
    }
    clear(
      list,
      table(
        ["Name", "Status", "Files", "Size", "Backend", "Embedding model", "Expires"],
        stores.map((store) => [
          h("a", { href: `#/stores/${encodeURIComponent(store.id)}` }, store.name || store.id),
          h("span", { class: `badge ${store.status}` }, store.status),
          counts(store),
          bytes(store.usage_bytes),
          store.provider_id ?? "—",
          model(store),
          when(store.expires_at),
        ]),
        "Vector stores",
      ),
    );
  } catch (error) {
    clear(list, errorBox(error));
  }
}

function createStoreForm(api: Context["api"], done: () => void): HTMLElement {
  const name = h("input", { name: "store-name", required: true, maxlength: 256, autocomplete: "off" });
  const days = h("input", { name: "expires-days", type: "number", min: 1, max: 365, placeholder: "never" });
  const submit = h("button", { type: "submit" }, "Create store");
  const status = h("div", { class: "status", "aria-live": "polite" });
  const form = h("form", { class: "card inline", "aria-label": "Create a vector store" }, field("Name", name), field("Expires after days idle", days), submit, status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, status, async () => {
      const body: Record<string, unknown> = { name: name.value };
      if (days.value) body.expires_after = { anchor: "last_active_at", days: Number(days.value) };
      await api.post("/v1/vector_stores", body);
      done();
    });
  });
  return form;
}

const POLL_MS = 500;

export async function storePage(main: HTMLElement, context: Context, storeId: string): Promise<void> {
  const { who, api } = context;
  const path = `/v1/vector_stores/${encodeURIComponent(storeId)}`;
  clear(main, h("p", {}, h("a", { href: "#/stores" }, "← All stores")), loading("Loading the store…"));
  let store: VectorStore;
  try {
    store = await api.get<VectorStore>(path);
  } catch (error) {
    clear(main, h("p", {}, h("a", { href: "#/stores" }, "← All stores")), errorBox(error));
    return;
  }
  const status = h("div", { class: "status", "aria-live": "polite" });
  const summary = h("dl", { class: "summary", "aria-label": "Store" });
  const chunks = h("dd", {}, "…");
  const summarize = (current: VectorStore) =>
    clear(
      summary,
      h("dt", {}, "Id"), h("dd", {}, current.id),
      h("dt", {}, "Status"), h("dd", {}, current.status),
      h("dt", {}, "Files"), h("dd", {}, counts(current)),
      h("dt", {}, "Size"), h("dd", {}, bytes(current.usage_bytes)),
      h("dt", {}, "Chunks"), chunks,
      h("dt", {}, "Backend"), h("dd", {}, current.provider_id ?? "—"),
      h("dt", {}, "Embedding model"), h("dd", {}, model(current)),
      h("dt", {}, "Created"), h("dd", {}, when(current.created_at)),
      h("dt", {}, "Expires"), h("dd", {}, when(current.expires_at)),
    );
  summarize(store);
  const files = h("section", { "aria-label": "Files of this store" }, loading("Loading files…"));
  const viewer = h("section", { class: "viewer", "aria-label": "File content", "aria-live": "polite" });
  clear(main, h("p", {}, h("a", { href: "#/stores" }, "← All stores")), h("h1", {}, store.name || store.id), summary, status);
  const reload = () => loadFiles();
  if (can.write(who)) {
    main.append(
      h(
        "div",
        { class: "actions" },
        button("Delete store", (event) => {
          if (!confirm(`Delete vector store ${store.name || store.id}? Its files stay in /v1/files.`)) return;
          busy(event.currentTarget as HTMLButtonElement, status, async () => {
            await api.delete(path);
            location.hash = "#/stores";
          });
        }, { class: "danger" }),
      ),
      uploader(context, store.id, reload),
      attachForm(context, store.id, reload),
    );
  }
  main.append(files, viewer);

  async function loadFiles(): Promise<void> {
    try {
      const [attached, all, current] = await Promise.all([
        api.all<VectorStoreFile>(`${path}/files`),
        api.all<FileObject>("/v1/files"),
        api.get<VectorStore>(path),
      ]);
      summarize(current);
      clear(chunks, String(attached.reduce((sum, file) => sum + (file.chunk_count ?? 0), 0)));
      const names = new Map(all.map((file) => [file.id, file.filename]));
      if (attached.length === 0) {
        clear(files, h("h2", {}, "Files"), empty(can.write(who) ? "No files yet: drop some above." : "No files in this store."));
        return;
      }
      clear(
        files,
        h("h2", {}, "Files"),
        table(
          ["File", "Status", "Last error", "Attributes", "Chunks", "Size", "Actions"],
          attached.map((file) => fileRow(file, names.get(file.id) ?? file.id)),
          "Files of this store",
        ),
      );
      if (attached.some((file) => file.status === "in_progress")) setTimeout(() => main.isConnected && loadFiles(), POLL_MS * 2);
    } catch (error) {
      clear(files, errorBox(error));
    }
  }

  function fileRow(file: VectorStoreFile, filename: string): (Node | string)[] {
    const filePath = `${path}/files/${encodeURIComponent(file.id)}`;
    const rowStatus = h("div", { class: "status", "aria-live": "polite" });
    const actions = h(
      "div",
      { class: "row-actions" },
      button("Content", (event) =>
        busy(event.currentTarget as HTMLButtonElement, rowStatus, async () => {
          clear(viewer, loading("Loading parsed content…"));
          const page = await api.get<{ data: { text: string }[] }>(`${filePath}/content`);
          const text = page.data.map((part) => part.text).join("\n");
          clear(viewer, h("h2", {}, `Parsed content of ${filename}`), text ? h("pre", { class: "content" }, text) : empty("No parsed text (the file is not completed)."));
          viewer.scrollIntoView({ block: "nearest" });
        }),
      ),
    );
    if (can.write(who)) {
      actions.append(
        button("Edit attributes", () => {
          const editor = h("textarea", { rows: 4, cols: 40, "aria-label": `Attributes of ${filename} (JSON)` });
          editor.value = JSON.stringify(file.attributes ?? {}, null, 1);
          const save = button("Save attributes", (event) =>
            busy(event.currentTarget as HTMLButtonElement, rowStatus, async () => {
              let attributes: unknown;
              try {
                attributes = JSON.parse(editor.value || "{}");
              } catch {
                throw new Error("Attributes must be a JSON object, e.g. {\"team\": \"hr\"}.");
              }
              await api.post(filePath, { attributes });
              await loadFiles();
            }),
          );
          clear(rowStatus, editor, save);
          editor.focus();
        }),
        button("Detach", (event) =>
          busy(event.currentTarget as HTMLButtonElement, rowStatus, async () => {
            await api.delete(filePath);
            await loadFiles();
          }),
        ),
        button("Delete file", (event) => {
          if (!confirm(`Delete ${filename} everywhere (every store holding it)?`)) return;
          busy(event.currentTarget as HTMLButtonElement, rowStatus, async () => {
            await api.delete(`/v1/files/${encodeURIComponent(file.id)}`);
            await loadFiles();
          });
        }, { class: "danger" }),
      );
    }
    actions.append(rowStatus);
    return [
      h("span", { class: "filename", title: file.id }, filename),
      h("span", { class: `badge ${file.status}` }, file.status),
      file.last_error ? h("span", { class: "last-error" }, `${file.last_error.code}: ${file.last_error.message}`) : "—",
      attributesText(file.attributes),
      String(file.chunk_count ?? "—"),
      bytes(file.usage_bytes),
      actions,
    ];
  }

  await loadFiles();
}

/** Drag and drop (or pick) several files: each gets a progress bar through upload, attach and ingestion. */
function uploader({ api }: Context, storeId: string, done: () => Promise<void>): HTMLElement {
  const input = h("input", { type: "file", multiple: true, name: "files", class: "visually-hidden", id: "upload-input" });
  const progress = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const zone = h(
    "div",
    { class: "dropzone", tabindex: 0, role: "button", "aria-label": "Upload files: drop them here or press Enter to choose" },
    h("strong", {}, "Drop files here"),
    " or ",
    h("label", { for: "upload-input", class: "link" }, "choose files"),
    input,
  );
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer?.files.length) send([...event.dataTransfer.files]);
  });
  input.addEventListener("change", () => {
    if (input.files?.length) send([...input.files]);
    input.value = "";
  });

  function send(files: File[]): void {
    Promise.all(files.map(one)).then(done, done);
  }

  async function one(file: File): Promise<void> {
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Progress of ${file.name}` });
    const state = h("span", { class: "state" }, "uploading");
    const item = h("li", { class: "upload" }, h("span", { class: "filename" }, file.name), bar, state);
    progress.append(item);
    const show = (text: string, value?: number) => {
      clear(state, text);
      item.dataset.state = text;
      if (value === undefined) bar.removeAttribute("value");
      else bar.value = value;
    };
    try {
      const uploaded = await api.upload(file, (fraction) => show(`uploading ${Math.round(fraction * 100)}%`, Math.round(fraction * 80)));
      show("attaching", 85);
      const attachedPath = `/v1/vector_stores/${encodeURIComponent(storeId)}/files`;
      let attached = await api.post<VectorStoreFile>(attachedPath, { file_id: uploaded.id });
      show("processing");
      while (attached.status === "in_progress") {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        attached = await api.get<VectorStoreFile>(`${attachedPath}/${encodeURIComponent(uploaded.id)}`);
      }
      show(attached.status, 100);
      if (attached.last_error) append(item, h("span", { class: "last-error" }, `${attached.last_error.code}: ${attached.last_error.message}`));
    } catch (error) {
      show("error", 0);
      append(item, errorBox(error));
    }
  }

  return h("section", { class: "card", "aria-label": "Upload files" }, h("h2", {}, "Upload"), zone, progress);
}

function attachForm({ api }: Context, storeId: string, done: () => Promise<void>): HTMLElement {
  const fileId = h("input", { name: "attach-file-id", required: true, placeholder: "file-…", autocomplete: "off", list: "known-files" });
  const known = h("datalist", { id: "known-files" });
  const attributes = h("input", { name: "attach-attributes", placeholder: '{"team": "hr"}', autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Attach");
  const status = h("div", { class: "status", "aria-live": "polite" });
  api
    .all<FileObject>("/v1/files")
    .then((files) => append(known, ...files.map((file) => h("option", { value: file.id }, file.filename))))
    .catch(() => undefined);
  const form = h("form", { class: "card inline", "aria-label": "Attach an uploaded file" }, h("h2", {}, "Attach an uploaded file"), field("File id", fileId), known, field("Attributes (JSON)", attributes), submit, status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, status, async () => {
      const body: Record<string, unknown> = { file_id: fileId.value.trim() };
      if (attributes.value.trim()) {
        try {
          body.attributes = JSON.parse(attributes.value);
        } catch {
          throw new Error("Attributes must be a JSON object, e.g. {\"team\": \"hr\"}.");
        }
      }
      await api.post(`/v1/vector_stores/${encodeURIComponent(storeId)}/files`, body);
      fileId.value = "";
      await done();
    });
  });
  return form;
}
