"""A real headless browser for the admin console's tests: Debian's chromium driven by Python's
playwright (`make browser` installs chromium; Playwright's own browser download does not work here).

Every page records what it did that a console must never do: a request to anything but the API, a
JavaScript dialog other than the console's own confirm(), a Content-Security-Policy violation, an
uncaught error. `ConsolePage.check_clean()` fails the test on any of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags chromium keeps calling Google's hosts, which this closed
# network refuses (many connections at a time).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium missing at {CHROMIUM}: `make browser` installs it")
        pytest.skip(f"chromium not found at {CHROMIUM} (`make browser` installs it)")


@dataclass
class ConsolePage:
    page: Any  # playwright.sync_api.Page
    base_url: str
    screenshots: Path
    foreign_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def shot(self, name: str, full_page: bool = True) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def check_clean(self) -> None:
        assert self.foreign_requests == [], f"requests to other origins: {self.foreign_requests}"
        assert [d for d in self.dialogs if not d.startswith("confirm:")] == [], f"dialogs: {self.dialogs}"
        assert self.problems == [], f"page problems: {self.problems}"


@dataclass
class Browser:
    context: Any  # playwright.sync_api.BrowserContext
    screenshots: Path

    def open(self, base_url: str, width: int = 1280, height: int = 800) -> ConsolePage:
        page = self.context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        console = ConsolePage(page, base_url, self.screenshots)

        def on_request(request: Any) -> None:
            if not request.url.startswith(base_url + "/"):
                console.foreign_requests.append(request.url)

        def on_dialog(dialog: Any) -> None:
            console.dialogs.append(f"{dialog.type}: {dialog.message}")
            if dialog.type == "confirm":
                dialog.accept()
            else:
                dialog.dismiss()

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text or message.type == "error" and "Refused" in message.text:
                console.problems.append(message.text)

        page.on("request", on_request)
        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: console.problems.append(f"uncaught: {error}"))
        page.goto(base_url + "/admin")
        return console


def launch(user_data_dir: Path, screenshots: Path) -> Iterator[Browser]:
    """A fixture's body (`yield from launch(...)`): one chromium with a fresh profile."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(30_000)
        try:
            yield Browser(context, screenshots)
        finally:
            context.close()
