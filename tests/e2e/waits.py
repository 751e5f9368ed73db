"""Waiting in the browser for the outcome of a page's background job (a detection run, an
evaluation), for as long as the job is still running rather than for a fixed few seconds."""

from __future__ import annotations

from selenium.common.exceptions import WebDriverException

from tests.processes import wait_while_busy


def texts(browser, selector: str) -> list[str] | None:
    """The text of each element matching `selector`; None when one was re-rendered between
    finding and reading it (read again)."""
    try:
        return [element.text for element in browser.find_elements(selector)]
    except WebDriverException:
        return None


def shows(browser, selector: str, text: str) -> bool:
    """Whether an element matching `selector` contains `text` (False while it is missing)."""
    return any(text in found for found in texts(browser, selector) or [])


def job_running(browser, run_button: str) -> bool:
    """Whether the page's job is in flight: Dash keeps its Run button disabled meanwhile."""
    try:
        return any(not button.is_enabled() for button in browser.find_elements(run_button))
    except WebDriverException:
        return False


def wait_for_job(
    browser,
    selector: str,
    text: str,
    *,
    run_button: str,
    alive=lambda: True,
    idle: float = 30,
    limit: float = 600,
) -> None:
    """Wait until `selector` shows `text`: as long as the job runs (its `run_button` disabled,
    and `alive()` true for whatever runs it), up to `limit` seconds; `idle` seconds once it
    does not. Fails with what the page showed."""

    def busy() -> bool:
        assert alive(), "what runs the page's background jobs has stopped"
        return job_running(browser, run_button)

    if not wait_while_busy(lambda: shows(browser, selector, text), busy, idle=idle, limit=limit):
        found = [element.text for element in browser.find_elements(selector)]
        raise AssertionError(f"{selector} never showed {text!r}; it showed {found!r}")


def uploading(browser) -> bool:
    """Whether the Data page is sending or reading a file (its progress line says so)."""
    try:
        return any(line.text for line in browser.find_elements(".vigil-upload-progress"))
    except WebDriverException:
        return False


def wait_for_upload(browser, selector: str, text: str, *, idle: float = 60) -> None:
    """Wait until `selector` shows `text` after a file was chosen or dropped: as long as the
    upload is under way, then `idle` seconds for the page to show its outcome."""
    if not wait_while_busy(
        lambda: shows(browser, selector, text), lambda: uploading(browser), idle=idle
    ):
        found = [element.text for element in browser.find_elements(selector)]
        raise AssertionError(
            f"{selector} never showed {text!r} after the upload; it showed {found!r}"
        )
