"""End to end: the admin console (/admin) in a real headless chromium against a real local server with
key checking on, clicked through as an operator would (issue 16). Screenshots of every page go to
<basetemp>/admin-console-screenshots (not committed)."""

from __future__ import annotations

import re
import uuid

import pytest
from tests.support.admin import admin_http, create_project_key, new_project
from tests.support.browser import Browser, ConsolePage, launch
from tests.support.sdk import attach, make_client, upload
from tests.support.servers import ADMIN_API_KEY, ServerProcess

LEAVE = "Parental leave policy: every parent may take sixteen weeks of parental leave with full pay."
TRAVEL = "Travel expenses: book trains in second class; hotel costs are reimbursed up to a nightly cap."
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"
HOSTILE_TEXT = "Harmless words <script>window.__pwned = 1; alert(2)</script> and <b>bold</b> markup about lanterns."
SERIES_COLOUR = (37, 99, 235)  # the first series' stroke (#2563eb, admin/src/pages/usage.ts)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Browser:
    yield from launch(tmp_path_factory.mktemp("chromium-profile"), tmp_path_factory.getbasetemp() / "admin-console-screenshots")


@pytest.fixture
def console(browser: Browser, keys_server: ServerProcess):
    opened = browser.open(keys_server.base_url)
    yield opened
    opened.page.close()


def sign_in(console: ConsolePage, key: str, label: str) -> None:
    page = console.page
    page.get_by_label("API key").fill(key)
    page.get_by_label("Label").fill(label)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Pages").wait_for()


def switch_to(console: ConsolePage, label: str) -> None:
    switcher = console.page.get_by_label("Signed in as")
    option = switcher.locator("option", has_text=label).first
    switcher.select_option(value=option.get_attribute("value"))


def series_pixels(console: ConsolePage, metric: str) -> int:
    """Pixels of the first series' colour on a chart's canvas: axes and grid alone draw none."""
    return int(
        console.page.evaluate(
            """([metric, [r, g, b]]) => {
                const canvas = document.querySelector(`figure[data-metric="${metric}"] canvas`);
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 0; i < data.length; i += 4)
                    if (Math.abs(data[i] - r) < 30 && Math.abs(data[i + 1] - g) < 30 && Math.abs(data[i + 2] - b) < 30 && data[i + 3] > 200) n++;
                return n;
            }""",
            [metric, list(SERIES_COLOUR)],
        )
    )


def test_an_operator_clicks_through_every_page(console: ConsolePage, keys_server: ServerProcess):
    page = console.page
    project_name = f"console team {uuid.uuid4().hex[:6]}"
    console.shot("01-sign-in")

    # Sign in with the admin key: only the organization pages are offered.
    sign_in(console, ADMIN_API_KEY, "ops admin")
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link").all_inner_texts() == ["Usage", "Projects and keys"]

    # A project and a write key; the secret is shown once, with a copy button.
    nav.get_by_role("link", name="Projects and keys").click()
    page.get_by_label("Project name").fill(project_name)
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name=f"Project {project_name}").wait_for()
    page.get_by_label("Key name").fill("indexer")
    page.get_by_label("Role").select_option("write")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new key")
    secret.wait_for()
    key = secret.input_value()
    assert key.startswith("sk-proj-")
    assert page.get_by_role("button", name="Copy").is_visible()
    keys_table = page.get_by_role("table", name="Keys")
    keys_table.get_by_role("cell", name="indexer", exact=True).wait_for()
    assert key not in keys_table.inner_text()  # the listing shows only the redacted form
    console.shot("02-projects-and-keys")
    # Quotas and rate limits are set here too, and shown with what the project holds now.
    page.get_by_label("max_files (0 = unlimited)").fill("50")
    page.get_by_role("button", name="Save quotas").click()
    page.get_by_label("rl-requests requests per minute").fill("600000")
    page.get_by_role("button", name="Save rl-requests").click()
    page.wait_for_function(
        "() => document.querySelector('input[name=max_files]').value === '50'"
        " && document.querySelector('input[name=\"rl-requests\"]').value === '600000'"
    )
    with admin_http(keys_server, ADMIN_API_KEY) as admin:
        project_id = page.locator(".project-detail p.muted").inner_text()  # the id under the project's name
        assert admin.get(f"/projects/{project_id}/quotas").json()["max_files"] == 50
        limits = {r["id"]: r["max_requests_per_1_minute"] for r in admin.get(f"/projects/{project_id}/rate_limits").json()["data"]}
        assert limits["rl-requests"] == 600000

    # Sign in with the new key from there: the store pages appear, the organization ones go.
    page.get_by_role("button", name="Use this key in the console").click()
    page.get_by_role("heading", name="Vector stores").wait_for()
    assert nav.get_by_role("link").all_inner_texts() == ["Stores", "Search playground"]
    page.get_by_text("No vector stores yet").wait_for()

    # A store, then two files and a failing one, uploaded at once, each with its progress bar.
    page.get_by_label("Name", exact=True).fill("handbook")
    page.get_by_role("button", name="Create store").click()
    page.get_by_role("link", name="handbook").click()
    page.get_by_role("heading", name="handbook").wait_for()
    page.locator("#upload-input").set_input_files(
        [
            {"name": "leave.txt", "mimeType": "text/plain", "buffer": LEAVE.encode()},
            {"name": "travel.md", "mimeType": "text/markdown", "buffer": TRAVEL.encode()},
            {"name": "blob.bin", "mimeType": "application/octet-stream", "buffer": bytes(range(256)) * 4},
        ]
    )
    uploads = page.get_by_role("list", name="Uploads")
    for name, state in (("leave.txt", "completed"), ("travel.md", "completed"), ("blob.bin", "failed")):
        uploads.locator(f'li[data-state="{state}"]', has_text=name).wait_for()
    assert uploads.get_by_role("progressbar").count() == 3
    files = page.get_by_role("table", name="Files of this store")
    files.get_by_text("unsupported_file").wait_for()  # the failed file's last_error
    assert files.locator("tr", has_text="leave.txt").get_by_text("completed").is_visible()
    assert files.locator("tr", has_text="travel.md").get_by_text("completed").is_visible()
    summary = page.get_by_label("Store", exact=True)  # the store's own figures, refreshed with its files
    assert "2/3 completed, 1 failed" in summary.inner_text()
    assert re.search(r"Chunks\s+2\b", summary.inner_text())
    # One short file, one chunk (the Chunks column); the failed one holds none.
    chunks_column = files.locator("th").all_inner_texts().index("Chunks")
    assert files.locator("tr", has_text="leave.txt").locator("td").nth(chunks_column).inner_text() == "1"
    assert files.locator("tr", has_text="blob.bin").locator("td").nth(chunks_column).inner_text() == "0"
    console.shot("03-store-files")

    # Attributes, parsed content, detach.
    leave_row = files.locator("tr", has_text="leave.txt")
    leave_row.get_by_role("button", name="Edit attributes").click()
    page.get_by_label("Attributes of leave.txt (JSON)").fill('{"team": "hr", "year": 2026}')
    page.get_by_role("button", name="Save attributes").click()
    files.locator("tr", has_text="leave.txt").get_by_text('team="hr", year=2026').wait_for()
    files.locator("tr", has_text="leave.txt").get_by_role("button", name="Content").click()
    page.locator("pre.content", has_text="sixteen weeks").wait_for()
    console.shot("04-parsed-content")
    files.locator("tr", has_text="blob.bin").get_by_role("button", name="Detach").click()
    files.locator("tr", has_text="blob.bin").wait_for(state="detached")
    page.get_by_label("Store", exact=True).get_by_text("2/2 completed").wait_for()

    # The search playground: two modes side by side, the expected file first in each, terms marked.
    nav.get_by_role("link", name="Search playground").click()
    page.get_by_label("Vector store").select_option(label="handbook")
    page.get_by_label("Query", exact=True).fill("parental leave weeks")
    page.get_by_label("Search mode", exact=True).select_option("hybrid")
    page.get_by_label("side by side with").check()
    page.get_by_label("Second search mode").select_option("keyword")
    page.get_by_role("button", name="Search").click()
    for mode in ("hybrid", "keyword"):
        column = page.get_by_role("region", name=f"{mode} results")
        column.locator("article.hit").first.wait_for()
        assert column.locator("article.hit .filename").first.inner_text() == "leave.txt", mode
        assert "leave" in [m.lower() for m in column.locator("article.hit").first.locator("mark").all_inner_texts()]
    console.shot("05-search-side-by-side")

    # A filter built in the form: team = hr keeps leave.txt, team = it leaves nothing.
    page.get_by_label("side by side with").uncheck()
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Attribute key").fill("team")
    page.get_by_label("Value", exact=True).fill("it")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("region", name="hybrid results").get_by_text("No results.").wait_for()
    page.get_by_label("Value", exact=True).fill("hr")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("region", name="hybrid results").locator("article.hit .filename", has_text="leave.txt").wait_for()
    console.shot("06-search-filter")

    # Usage, back as the admin key: the charts are drawn with this project's data.
    switch_to(console, "ops admin")
    nav.get_by_role("link", name="Usage").click()
    project = page.get_by_label("Project")
    project_id = project.locator("option", has_text=project_name).get_attribute("value")
    project.select_option(project_id)
    page.get_by_role("button", name="Show").click()
    charts = page.locator(f'.charts[data-for="{project_id}"]')
    chart = charts.locator('figure[data-metric="num_files_ingested"]')
    chart.wait_for()
    assert int(chart.get_attribute("data-total")) == 2  # leave.txt and travel.md (blob.bin failed)
    assert int(page.locator('figure[data-metric="num_searches"]').get_attribute("data-total")) >= 4
    assert series_pixels(console, "num_searches") > 50
    page.get_by_role("table", name="Per-store stats").get_by_role("cell", name="handbook", exact=True).wait_for()
    console.shot("07-usage")

    # Revoke the key; signed in with it again, the console shows the API's refusal.
    nav.get_by_role("link", name="Projects and keys").click()
    page.get_by_role("button", name=f"Open project {project_name}").click()
    page.get_by_role("heading", name=f"Project {project_name}").wait_for()
    page.get_by_role("button", name="Revoke key indexer").click()
    page.get_by_role("table", name="Keys").wait_for(state="detached")
    page.get_by_text("No keys in this project yet.").wait_for()
    switch_to(console, "indexer")
    page.get_by_role("alert").filter(has_text="has been revoked").wait_for()
    console.shot("08-revoked-key-refused")
    assert any(d.startswith("confirm:") for d in console.dialogs)
    console.check_clean()


def test_hostile_names_and_text_render_as_text(console: ConsolePage, keys_server: ServerProcess):
    """A file named like markup and chunk text holding <script> show as text: no element, no dialog, no script."""
    _, key = new_project(keys_server, ADMIN_API_KEY, name="hostile", role="write")
    client = make_client(keys_server.base_url, key)
    store = client.vector_stores.create(name="<b>store</b>")
    attach(client, store.id, upload(client, name=HOSTILE_NAME, text=HOSTILE_TEXT).id)
    page = console.page

    sign_in(console, key, "hostile")
    page.get_by_role("link", name="<b>store</b>").click()
    files = page.get_by_role("table", name="Files of this store")
    files.get_by_text(HOSTILE_NAME, exact=True).wait_for()
    files.get_by_role("button", name="Content").click()
    page.locator("pre.content", has_text="<script>window.__pwned = 1;").wait_for()
    console.shot("09-hostile-file-as-text")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Search playground").click()
    page.get_by_label("Query", exact=True).fill("lanterns script")
    page.get_by_label("Search mode", exact=True).select_option("keyword")
    page.get_by_role("button", name="Search").click()
    hit = page.get_by_role("region", name="keyword results").locator("article.hit").first
    hit.locator(".filename", has_text=HOSTILE_NAME).wait_for()
    assert "<script>window.__pwned = 1; alert(2)</script>" in hit.locator(".chunk").inner_text()
    console.shot("10-hostile-search-as-text")

    assert page.locator("img").count() == 0 and page.locator("b").count() == 0
    assert page.locator("script").count() == 1  # the console's own
    assert page.evaluate("window.__pwned") is None
    console.check_clean()  # no alert() dialog, no CSP violation, nothing fetched elsewhere


def test_a_read_only_key_sees_no_write_controls(console: ConsolePage, keys_server: ServerProcess):
    project_id, writer_key = new_project(keys_server, ADMIN_API_KEY, name="readers", role="write")
    reader_key = create_project_key(keys_server, ADMIN_API_KEY, project_id, name="viewer", role="read")["value"]
    client = make_client(keys_server.base_url, writer_key)
    store = client.vector_stores.create(name="shelf")
    attach(client, store.id, upload(client, name="shelf.txt", text="books on a shelf").id)
    page = console.page

    # Keyboard only: type the key, Enter; Tab reaches the navigation.
    page.get_by_label("API key").focus()
    page.keyboard.type(reader_key)
    page.keyboard.press("Enter")
    nav = page.get_by_role("navigation", name="Pages")
    nav.wait_for()
    assert nav.get_by_role("link").all_inner_texts() == ["Stores", "Search playground"]
    page.get_by_role("link", name="shelf").wait_for()
    assert page.get_by_role("button", name="Create store").count() == 0
    page.get_by_role("link", name="shelf").focus()
    page.keyboard.press("Enter")
    files = page.get_by_role("table", name="Files of this store")
    files.get_by_role("button", name="Content").wait_for()
    for control in ("Delete store", "Edit attributes", "Detach", "Delete file", "Attach"):
        assert page.get_by_role("button", name=control).count() == 0, control
    assert page.locator("#upload-input").count() == 0
    console.shot("11-read-only-key")

    # A narrow window: still usable, nothing wider than the screen but the table's own scroller.
    page.set_viewport_size({"width": 420, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    console.shot("12-narrow-window")
    console.check_clean()


@pytest.mark.parametrize("server", ["pgvector"], indirect=True)  # the console does not depend on the backend
def test_before_keys_are_configured_any_key_is_its_own_tenant(browser: Browser, server: ServerProcess):
    """On a fresh install (no admin key) a typed key is a tenant that reads and writes; the organization
    pages are not offered (the API answers them 403 keys_not_configured)."""
    console = browser.open(server.base_url)
    page = console.page
    sign_in(console, f"sk-local-{uuid.uuid4().hex}", "laptop")
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link").all_inner_texts() == ["Stores", "Search playground"]
    page.get_by_label("Name", exact=True).fill("notes")
    page.get_by_role("button", name="Create store").click()
    page.get_by_role("link", name="notes").click()
    # Drag and drop: a file dropped on the zone is uploaded, attached and followed to completed.
    dropped = page.evaluate_handle(
        """() => { const data = new DataTransfer();
                   data.items.add(new File(["words dropped from a desktop"], "dropped.txt", {type: "text/plain"}));
                   return data; }"""
    )
    page.locator(".dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    page.get_by_role("list", name="Uploads").locator('li[data-state="completed"]', has_text="dropped.txt").wait_for()
    page.get_by_role("table", name="Files of this store").get_by_text("dropped.txt").wait_for()
    console.check_clean()
    page.close()


def test_a_project_admin_key_manages_its_own_project_only(console: ConsolePage, keys_server: ServerProcess):
    """A project admin key: its stores and usage, its project's keys (create, revoke); limits and
    quotas shown read-only, no project creation (organization admins only)."""
    project_id, admin_key = new_project(keys_server, ADMIN_API_KEY, name="self-managed", role="admin")
    page = console.page
    sign_in(console, admin_key, "team admin")
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link").all_inner_texts() == ["Stores", "Search playground", "Usage", "Projects and keys"]
    nav.get_by_role("link", name="Projects and keys").click()
    page.get_by_role("heading", name="Project self-managed").wait_for()
    assert page.get_by_role("button", name="Create project").count() == 0
    assert page.get_by_role("table", name="Projects").get_by_role("row").count() == 2  # the header and its own project
    page.get_by_role("table", name="Quotas").get_by_role("cell", name="max_files").wait_for()
    assert page.get_by_role("button", name="Save quotas").count() == 0
    assert page.get_by_role("table", name="Rate limits").locator("input").count() == 0
    page.get_by_label("Key name").fill("ci reader")
    page.get_by_label("Role").select_option("read")
    page.get_by_role("button", name="Create key").click()
    assert page.get_by_label("The new key").input_value().startswith("sk-proj-")
    page.get_by_role("table", name="Keys").get_by_role("cell", name="ci reader", exact=True).wait_for()
    console.shot("13-project-admin-keys")
    nav.get_by_role("link", name="Usage").click()
    page.locator('.charts[data-for="all"] figure[data-metric="num_requests"]').wait_for()
    assert int(page.locator('figure[data-metric="num_requests"]').get_attribute("data-total")) >= 1
    console.check_clean()
