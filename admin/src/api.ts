// The public API, called with the operator's key. Every failure becomes an ApiError carrying the
// API's own message (OpenAI's {"error": {...}} body), which the pages show as text.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
    readonly type: string | null = null,
  ) {
    super(message);
  }
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  last_id?: string | null;
}

type Query = Record<string, string | number | boolean | string[] | undefined | null>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, v));
    else params.append(name, String(value));
  }
  const search = params.toString();
  return path + (search ? "?" + search : "");
}

function errorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: { message?: string; code?: string; type?: string } } | null)?.error;
  if (error && typeof error.message === "string") return new ApiError(error.message, status, error.code ?? null, error.type ?? null);
  return new ApiError(`The API answered ${status} without an error message.`, status);
}

export class Api {
  constructor(private readonly key: string) {}

  private headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (json) headers["content-type"] = "application/json";
    return headers;
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url(path, options.query), {
        method,
        headers: this.headers(options.body !== undefined),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiError("The API could not be reached.", 0);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) throw errorOf(response.status, body);
    return body as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, { query });
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>("POST", path, { body });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  /** Every page of a cursor-paginated list (at most `cap` items). */
  async all<T extends { id: string }>(path: string, query: Query = {}, cap = 1000): Promise<T[]> {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.get<Page<T>>(path, { limit: 100, ...query, after });
      items.push(...page.data);
      if (!page.has_more || page.data.length === 0 || items.length >= cap) return items;
      after = page.data[page.data.length - 1].id;
    }
  }

  /** POST /v1/files through XMLHttpRequest, the one browser API that reports upload progress. */
  upload(file: File, onProgress: (fraction: number) => void): Promise<FileObject> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/files");
      xhr.setRequestHeader("authorization", `Bearer ${this.key}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onerror = () => reject(new ApiError("The API could not be reached.", 0));
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as FileObject);
        else reject(errorOf(xhr.status, body));
      };
      const form = new FormData();
      form.append("purpose", "assistants");
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }
}

// The objects the pages read: the fields they use of OpenAI's shapes (and this API's extensions).
export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface VectorStore {
  id: string;
  name: string;
  status: string;
  usage_bytes: number;
  file_counts: FileCounts;
  created_at: number;
  expires_at: number | null;
  embedding_model?: string | null;
  embedding_dimension?: number | null;
  provider_id?: string | null;
}

export type Attributes = Record<string, string | number | boolean>;

export interface VectorStoreFile {
  id: string;
  status: string;
  usage_bytes: number;
  created_at: number;
  last_error: { code: string; message: string } | null;
  attributes: Attributes | null;
  chunk_count?: number; // this API's extension
}

export interface FileObject {
  id: string;
  filename: string;
  bytes: number;
  created_at: number;
  purpose: string;
}

export interface SearchResult {
  file_id: string;
  filename: string;
  score: number;
  attributes: Attributes | null;
  content: { type: string; text: string }[];
}

export interface SearchPage {
  search_query: string[];
  data: SearchResult[];
}

export interface Project {
  id: string;
  name: string;
  status: string;
  created_at: number;
}

export interface ProjectKey {
  id: string;
  name: string;
  redacted_value: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  role: string;
  vector_store_ids: string[] | null;
  requests_per_minute: number | null;
  value?: string;
}

export interface RateLimit {
  id: string;
  model: string;
  description: string;
  max_requests_per_1_minute: number;
}

export interface Quotas {
  project_id: string;
  usage: { files: number; bytes: number; chunks: number };
  [name: string]: unknown;
}

export interface StoreStats {
  id: string;
  name: string;
  usage_bytes: number;
  chunk_count: number;
  file_counts: FileCounts;
}

export interface UsageResult {
  project_id: string | null;
  vector_store_id: string | null;
  num_requests: number;
  num_searches: number;
  num_files_uploaded: number;
  bytes_uploaded: number;
  num_files_ingested: number;
  num_chunks_embedded: number;
  num_tokens_embedded: number;
  usage_bytes: number;
}

export interface UsagePage {
  data: { start_time: number; end_time: number; results: UsageResult[] }[];
  has_more: boolean;
  next_page: string | null;
}
