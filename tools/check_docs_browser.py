"""Build the documentation site, serve it locally and look at it in headless Chromium.

    .venv/bin/python tools/check_docs_browser.py --out /tmp/jaxsched-docs-check

Steps: ``mkdocs build --strict`` into ``OUT/site`` (skipped with ``--no-build``, which
serves an existing ``OUT/site``); an ``http.server`` on 127.0.0.1 in a thread; for each
page (the home page and one API page by default) Chromium's ``--dump-dom`` (the DOM after
the page ran, checked for a string the page must contain) and ``--screenshot`` at
1280x900, saved as ``OUT/<page>.png``. Each screenshot must load (PIL), have the
window's size, more than ``--min-colours`` distinct colours and some non-white pixels,
and the server must have served the page and the theme's stylesheet. Exits non-zero on
any failed check, printing what it checked.

Needs Chromium (Debian: ``apt-get install chromium``; ``--chromium PATH`` for another
binary) and Pillow (installed with matplotlib).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 900

# page -> a string its rendered DOM must contain
DEFAULT_PAGES = {
    "index.html": "Hyperparameters are data",
    "api/optimizers.html": 'id="jaxsched.optimizers.adam"',
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    requested: list[str]

    def log_message(self, format: str, *args: object) -> None:
        self.requested.append(self.path.split("?", 1)[0])


def build(site: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)]
    print("building:", " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    requested: list[str] = []
    handler = type("Handler", (_Handler,), {"requested": requested})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requested


def chromium(binary: str, *args: str, timeout: float = 120) -> str:
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",  # running as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=5000",  # let scripts and web fonts settle
        *args,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def check_image(path: Path, min_colours: int) -> str:
    """Raises AssertionError unless the screenshot at ``path`` shows something."""
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    assert rgb.size == (WIDTH, HEIGHT), f"{path}: size {rgb.size}, expected {(WIDTH, HEIGHT)}"
    colours = rgb.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    distinct = len(colours)
    non_white = sum(n for n, c in colours if min(c) < 240) / (WIDTH * HEIGHT)
    assert distinct > min_colours, f"{path}: only {distinct} distinct colours (blank page?)"
    assert non_white > 0.01, f"{path}: {non_white:.1%} non-white pixels (blank page?)"
    return f"{distinct} colours, {non_white:.0%} non-white pixels"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/jaxsched-docs-check"))
    parser.add_argument("--no-build", action="store_true", help="serve an existing OUT/site")
    parser.add_argument(
        "--page",
        action="append",
        metavar="PATH=TEXT",
        help="a page to check and a string its DOM must contain (repeatable); default "
        + ", ".join(f"{p}={t}" for p, t in DEFAULT_PAGES.items()),
    )
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: on PATH)")
    parser.add_argument("--min-colours", type=int, default=16)
    args = parser.parse_args(argv)

    binary = args.chromium or next(
        (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if binary is None:
        print("no Chromium found: apt-get install chromium, or pass --chromium PATH")
        return 2
    pages = dict(p.split("=", 1) for p in args.page) if args.page else DEFAULT_PAGES
    if any("#" in page for page in pages):
        # Chromium's --screenshot of a page scrolled to an anchor comes out blank (one
        # colour) with Chromium 150 headless, so anchors would fail the check.
        parser.error("--page takes a page without an #anchor")

    out = args.out.resolve()
    site = out / "site"
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        build(site)
    server, requested = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"serving {site} on {base} ({binary})")

    failures = []
    try:
        for page, text in pages.items():
            url = f"{base}/{page}"
            shot = out / (page.removesuffix(".html").replace("/", "_") + ".png")
            try:
                dom = chromium(binary, "--dump-dom", url)
                assert text in dom, f"{url}: rendered DOM lacks {text!r}"
                chromium(binary, f"--screenshot={shot}", url)
                summary = check_image(shot, args.min_colours)
                assert f"/{page}" in requested, f"{url} was never requested from the server"
                css = [p for p in requested if p.startswith("/assets/stylesheets/")]
                assert css, "the theme's stylesheet was never requested"
                print(f"ok  {url}: DOM has {text!r}; {shot}: {summary}")
            except (AssertionError, RuntimeError, subprocess.TimeoutExpired) as err:
                failures.append(str(err))
                print(f"FAIL {url}: {err}")
    finally:
        server.shutdown()
    print(f"{len(pages) - len(failures)}/{len(pages)} pages passed; screenshots in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
