// The console's shell: sign-in, the key switcher, navigation and hash routing (#/stores, ...).
import "./style.css";
import { Api } from "./api";
import { button, clear, errorBox, field, h, loading } from "./dom";
import { keysPage } from "./pages/keys";
import { searchPage } from "./pages/search";
import { storePage, storesPage } from "./pages/stores";
import { usagePage } from "./pages/usage";
import { Identity, activate, activeIdentity, can, describe, forget, probe, remember, savedIdentities, signOutAll } from "./session";

export interface Context {
  who: Identity;
  api: Api;
  /** Signs in with another key (a key just created), then shows `hash`. */
  signIn: (key: string, label: string, hash?: string) => Promise<void>;
}

interface Route {
  hash: string;
  title: string;
  allowed: (who: Identity) => boolean;
}

const ROUTES: Route[] = [
  { hash: "#/stores", title: "Stores", allowed: can.useStores },
  { hash: "#/search", title: "Search playground", allowed: can.useStores },
  { hash: "#/usage", title: "Usage", allowed: can.readUsage },
  { hash: "#/keys", title: "Projects and keys", allowed: can.manageKeys },
];

const app = document.getElementById("app") as HTMLElement;
let addingKey = false; // the sign-in form, shown over the console to add another key

async function signIn(key: string, label: string, hash?: string): Promise<void> {
  const who = await probe(key.trim(), label);
  remember(who);
  addingKey = false;
  go(hash ?? location.hash);
}

function signInPage(): HTMLElement {
  const keyInput = h("input", { type: "password", name: "api-key", autocomplete: "off", required: true, placeholder: "sk-admin-… or sk-proj-…" });
  const labelInput = h("input", { type: "text", name: "label", autocomplete: "off", placeholder: "optional" });
  const status = h("div", { class: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", "aria-label": "Sign in" },
    h("h1", {}, "Vector Stores console"),
    h("p", {}, "Sign in with an organization admin key or a project key. The key stays in this tab (sessionStorage) and is sent only to this API."),
    field("API key", keyInput),
    field("Label", labelInput),
    submit,
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    clear(status, loading("Checking the key…"));
    signIn(keyInput.value, labelInput.value).catch((error) => {
      submit.disabled = false;
      clear(status, errorBox(error));
    });
  });
  return form;
}

function header(who: Identity, current: Route | undefined): HTMLElement {
  const identities = savedIdentities();
  const switcher = h(
    "select",
    { "aria-label": "Signed in as", name: "identity" },
    ...identities.map((saved, index) => h("option", { value: index, selected: saved.key === who.key }, `${saved.label} — ${describe(saved)}`)),
  );
  switcher.addEventListener("change", () => {
    activate(Number(switcher.value));
    go("#/"); // another key may see other pages: start at its first
  });
  return h(
    "header",
    {},
    h("a", { class: "brand", href: "#/" }, "Vector Stores console"),
    h(
      "nav",
      { "aria-label": "Pages" },
      ...ROUTES.filter((route) => route.allowed(who)).map((route) =>
        h("a", { href: route.hash, "aria-current": route === current ? "page" : undefined }, route.title),
      ),
    ),
    h(
      "div",
      { class: "who" },
      switcher,
      button("Add key", () => {
        addingKey = true;
        render();
      }),
      button("Sign out", () => {
        forget(who.key);
        render();
      }),
      button("Sign out all", () => {
        signOutAll();
        render();
      }, { class: "secondary" }),
    ),
  );
}

/** Shows `hash`: a changed hash renders through hashchange, an unchanged one here (never twice). */
function go(hash: string): void {
  if (location.hash !== hash && !(hash === "#/" && location.hash === "")) location.hash = hash;
  else render();
}

function render(): void {
  const who = activeIdentity();
  if (!who || addingKey) {
    clear(app, signInPage());
    if (who) app.prepend(h("p", { class: "back" }, button("← Back to the console", () => ((addingKey = false), render()))));
    return;
  }
  const allowed = ROUTES.filter((route) => route.allowed(who));
  const hash = location.hash.split("?")[0];
  const route = allowed.find((r) => hash === r.hash || hash.startsWith(r.hash + "/")) ?? allowed[0];
  const main = h("main", { id: "page", tabindex: "-1" });
  clear(app, header(who, route), main);
  const context: Context = { who, api: new Api(who.key), signIn };
  if (!route) {
    clear(main, errorBox("This key may use none of the console's pages."));
    return;
  }
  document.title = `${route.title} — Vector Stores console`;
  const rest = hash.slice(route.hash.length + 1);
  if (route.hash === "#/stores") (rest ? storePage(main, context, decodeURIComponent(rest)) : storesPage(main, context));
  else if (route.hash === "#/search") searchPage(main, context);
  else if (route.hash === "#/usage") usagePage(main, context);
  else if (route.hash === "#/keys") keysPage(main, context);
}

window.addEventListener("hashchange", render);
render();
