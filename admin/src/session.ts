// The keys the operator signed in with, kept in sessionStorage (this tab only; never a URL or a
// cookie), and what each may do, learned by asking the API. The API stays the authority: a page
// shows only what the key may do, and a refused request still shows the API's message.
import { Api, ApiError, Page, Project } from "./api";

export type Kind = "org-admin" | "project" | "open";
export type Role = "read" | "write" | "admin";

export interface Identity {
  key: string;
  kind: Kind;
  role: Role; // for org admins: "admin"
  projectId: string | null; // known for project admins (their one project)
  label: string;
}

const STORAGE = "vector-store-console.keys";
const ACTIVE = "vector-store-console.active";

export function savedIdentities(): Identity[] {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(STORAGE) ?? "[]");
    return Array.isArray(parsed) ? (parsed as Identity[]) : [];
  } catch {
    return [];
  }
}

export function activeIdentity(): Identity | null {
  const all = savedIdentities();
  return all[Number(sessionStorage.getItem(ACTIVE) ?? "0")] ?? all[0] ?? null;
}

export function remember(identity: Identity): void {
  const all = savedIdentities().filter((saved) => saved.key !== identity.key);
  all.push(identity);
  sessionStorage.setItem(STORAGE, JSON.stringify(all));
  sessionStorage.setItem(ACTIVE, String(all.length - 1));
}

export function activate(index: number): void {
  sessionStorage.setItem(ACTIVE, String(index));
}

export function forget(key: string): void {
  const all = savedIdentities().filter((saved) => saved.key !== key);
  sessionStorage.setItem(STORAGE, JSON.stringify(all));
  sessionStorage.setItem(ACTIVE, String(Math.max(0, all.length - 1)));
}

export function signOutAll(): void {
  sessionStorage.removeItem(STORAGE);
  sessionStorage.removeItem(ACTIVE);
}

function redacted(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…${key.slice(-4)}` : "…";
}

const PROBE_FILE_ID = "file-console-role-probe";

/**
 * What the key is, from side-effect-free requests:
 * - listing admin API keys answers only to organization admin keys (403 keys_not_configured: no key
 *   checking, every bearer token is its own tenant with read and write);
 * - listing projects answers to project admin keys too, with their one project;
 * - listing vector stores to any project key (401: unknown, revoked, expired);
 * - deleting a file that does not exist is 403 for a read key (the role is checked first), 404 otherwise.
 */
export async function probe(key: string, label: string): Promise<Identity> {
  const api = new Api(key);
  const name = label.trim() || redacted(key);
  try {
    await api.get("/v1/organization/admin_api_keys", { limit: 1 });
    return { key, kind: "org-admin", role: "admin", projectId: null, label: name };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401 || error.status === 0) throw error;
    if (error.code === "keys_not_configured") return { key, kind: "open", role: "write", projectId: null, label: name };
  }
  try {
    const projects = await api.get<Page<Project>>("/v1/organization/projects", { limit: 1 });
    return { key, kind: "project", role: "admin", projectId: projects.data[0]?.id ?? null, label: name };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
  }
  await api.get("/v1/vector_stores", { limit: 1 });
  try {
    await api.delete(`/v1/files/${PROBE_FILE_ID}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { key, kind: "project", role: "read", projectId: null, label: name };
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  return { key, kind: "project", role: "write", projectId: null, label: name };
}

export const can = {
  useStores: (who: Identity) => who.kind !== "org-admin",
  write: (who: Identity) => who.kind !== "org-admin" && who.role !== "read",
  readUsage: (who: Identity) => who.kind === "org-admin" || (who.kind === "project" && who.role === "admin"),
  manageKeys: (who: Identity) => who.kind === "org-admin" || (who.kind === "project" && who.role === "admin"),
  manageProjects: (who: Identity) => who.kind === "org-admin",
  setLimits: (who: Identity) => who.kind === "org-admin",
};

export function describe(who: Identity): string {
  if (who.kind === "org-admin") return "organization admin key";
  if (who.kind === "open") return "key (no key checking: its own tenant)";
  return `project ${who.role} key`;
}
