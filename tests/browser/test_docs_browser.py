"""The documentation in headless Chromium: it renders from the mock, over plain HTTP and from disk, offline.

Needs Debian's `chromium` and `chromium-driver` (bin/test installs them in CI) and selenium. Set
`UPDATE_DOCS_SCREENSHOT=1` to refresh `docs/screenshot.png`, the README's picture of the page.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec import ContractSpec, load_spec
from spec.docs import write_docs

# Every case drives Chromium; all but the file:// one also start a server on loopback.
pytestmark = [pytest.mark.browser, pytest.mark.http]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshot.png"
CHROMEDRIVER = Path("/usr/bin/chromedriver")
EXAMPLE_VALUE = "ci-31d9184-d64d-42d9-8c75-5edba531xxxx"  # the seed sample's caseId
LOCAL_PREFIXES = ("http://127.0.0.1", "http://localhost", "file:", "data:", "blob:", "about:")
TIMEOUT = 30


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')"
    )
    from selenium.webdriver.chrome.service import Service

    binary = _chromium()
    if binary is None or not CHROMEDRIVER.is_file():
        missing = "chromium or chromedriver is not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            # bin/test installs them in CI: a skip there would drop the only end-to-end test of the docs.
            pytest.fail(missing)
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        # Belt and braces: a host other than loopback resolves nowhere, so even a missed request
        # cannot reach the internet; the performance log below still records that it was attempted.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # An explicit driver path keeps Selenium Manager from trying to download one.
    chrome = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    chrome.set_page_load_timeout(TIMEOUT)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    write_docs(out)
    return out


@contextlib.contextmanager
def _static_server(root: Path) -> Iterator[str]:
    """The docs folder over HTTP on loopback, as any static host would serve it."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _mock_server(tmp_path: Path) -> Iterator[str]:
    """`python -m mockserver serve` on a free loopback port; yields the URL of its `/docs/`."""
    port = _free_port()
    log = tmp_path / "mock.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mockserver",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/docs/"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the mock exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.status == 200
                    break
            except urllib.error.HTTPError as exc:
                pytest.fail(
                    f"the mock answers {exc.code} on {url}; it should serve spec.docs.build_docs() there"
                )
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the mock did not answer on {url} within {TIMEOUT}s:\n{log.read_text(errors='replace')}"
                    )
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(params=["mock", "http-server", "file"])
def docs_url(request: pytest.FixtureRequest, docs_dir: Path, tmp_path: Path) -> Iterator[str]:
    """Where the page is loaded from: the mock's `/docs/`, a plain static server, or the disk."""
    if request.param == "file":
        yield (docs_dir / "index.html").as_uri()
    elif request.param == "http-server":
        with _static_server(docs_dir) as url:
            yield url
    else:
        with _mock_server(tmp_path) as url:
            yield url


def _open(driver: Any, url: str) -> list[str]:
    """Load `url` and wait for Swagger UI; return every URL the page requested."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Start from a blank page and drop the log, so only this page's requests are judged (the
    # browser's own start page would otherwise be in it).
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get(url)
    WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    return _requested_urls(driver)


def _requested_urls(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _expand_operation(driver: Any) -> Any:
    """The createTask operation's block, opened if the UI shows it closed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = load_spec().operation("createTask").path_template
    block = driver.find_element(
        By.XPATH,
        f"//div[contains(@class, 'opblock')][.//*[@data-path='{path}']][contains(@class, 'opblock-post')]",
    )
    if not block.find_elements(By.CSS_SELECTOR, ".opblock-body"):
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    WebDriverWait(driver, TIMEOUT).until(lambda d: block.find_elements(By.CSS_SELECTOR, ".opblock-body"))
    return block


def test_docs_render_offline(driver: Any, docs_url: str, contract: ContractSpec) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    requested = _open(driver, docs_url)
    paths = [
        e.get_attribute("data-path") for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    ]
    # Swagger UI groups the operations by tag: every path of the spec once, in some order.
    assert sorted(paths) == sorted({op.path_template for op in contract.operations.values()})
    create_task = contract.operation("createTask")

    block = _expand_operation(driver)
    WebDriverWait(driver, TIMEOUT).until(lambda d: EXAMPLE_VALUE in block.text)
    # Named request examples are offered by name; every documented status has its response row.
    options = [
        o.get_attribute("value")
        for o in block.find_elements(By.CSS_SELECTOR, ".opblock-section-request-body .examples-select option")
    ]
    assert options == list(create_task.request_examples)
    codes = {
        int(r.get_attribute("data-code"))
        for r in block.find_elements(By.CSS_SELECTOR, "tr.response[data-code]")
    }
    assert codes == set(create_task.documented_statuses)

    decisions = driver.find_elements(By.CSS_SELECTOR, "#decisions-table tbody tr")
    assert [r.get_attribute("id") for r in decisions] == [f"decision-{d.id}" for d in contract.decisions]
    relations = driver.find_elements(By.CSS_SELECTOR, "#relations-table tbody tr")
    assert [r.get_attribute("id") for r in relations] == [f"relation-{r.id}" for r in contract.relations]
    driver.execute_script("arguments[0].scrollIntoView()", relations[-1])
    assert relations[-1].is_displayed() and contract.relations[-1].description in relations[-1].text

    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], "the page logged errors"
    requested = _all_requests(driver, requested)
    assert any(u.startswith(docs_url) for u in requested), (
        f"the log lacks the page's own request: {requested}"
    )
    off_host = [u for u in requested if not u.startswith(LOCAL_PREFIXES)]
    assert off_host == [], f"requests left localhost: {off_host}"


def _all_requests(driver: Any, earlier: list[str]) -> list[str]:
    """Requests made until now, after giving late ones (fonts, images) a moment to start."""
    time.sleep(0.5)
    return earlier + _requested_urls(driver)


def test_screenshot(driver: Any, docs_dir: Path, tmp_path: Path) -> None:
    """A picture of the open operation; written to docs/screenshot.png when UPDATE_DOCS_SCREENSHOT is set."""
    from selenium.webdriver.common.by import By

    with _static_server(docs_dir) as url:
        _open(driver, url)
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            block = _expand_operation(driver)
            # The request body with its named examples is the part worth a picture; the path above
            # it is out of view, so it is asserted on the page instead.
            body = block.find_element(By.CSS_SELECTOR, ".opblock-section-request-body")
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", body)
            target = tmp_path / "screenshot.png"
            assert block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").is_displayed()
            assert driver.save_screenshot(str(target))
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 900)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, SCREENSHOT)


def test_try_it_out_sends_to_the_serving_mock(driver: Any, tmp_path: Path, contract: ContractSpec) -> None:
    """From the mock's /docs/, "Try it out" then "Execute" creates a task on that mock, token filled in."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with _mock_server(tmp_path) as url:
        requested = _open(driver, url)
        origin = url.removesuffix("/docs/")
        servers = [
            o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, ".servers select option")
        ]
        assert servers == [origin], servers  # the platform is not one click away
        assert "try-it-out-notice" in driver.page_source
        block = _expand_operation(driver)
        block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        execute = WebDriverWait(driver, TIMEOUT).until(
            lambda d: block.find_element(By.CSS_SELECTOR, ".execute")
        )
        execute.click()
        WebDriverWait(driver, TIMEOUT).until(
            lambda d: block.find_elements(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
        )
        status = block.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status").text
        body = block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_description pre"
        ).text
        assert status.strip().startswith("200"), f"the mock answered {status}: {body}"
        task = json.loads(body)
        examples = contract.operation("createTask").request_examples
        sample = examples[next(iter(examples))]
        assert task["caseId"] == sample["caseId"] and task["refId"].startswith("TS")
        sent = [u for u in _all_requests(driver, requested) if u.endswith("/createTask")]
        assert sent and all(u.startswith(origin + "/") for u in sent), sent


def test_try_it_out_is_off_outside_the_mock(driver: Any, docs_dir: Path, tmp_path: Path) -> None:
    """The folder never offers it; a page built for the mock, opened from disk, does not either."""
    from selenium.webdriver.common.by import By

    from spec.docs import build_docs

    with _static_server(docs_dir) as url:
        _open(driver, url)
        block = _expand_operation(driver)
        assert block.find_elements(By.CSS_SELECTOR, ".try-out__btn") == []
        assert "try-it-out-notice" not in driver.page_source
    for relative, data in build_docs(try_it_out=True, auth_token="h.p.s").items():
        target = tmp_path / "mock-docs" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _open(driver, (tmp_path / "mock-docs" / "index.html").as_uri())
    block = _expand_operation(driver)
    assert block.find_elements(By.CSS_SELECTOR, ".try-out__btn") == []
