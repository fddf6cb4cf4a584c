"""MkDocs hooks for the jaxsched site (``hooks:`` in mkdocs.yml).

* README sections: a guide page line ``<!-- README: Title -->`` is replaced by the body of
  the README's ``## Title`` section, without that title (``<!-- README: (intro) -->``:
  everything before the first ``##``, ``# jaxsched`` included), so the guide pages and
  the README never disagree. The section's ``###`` subheadings are shifted to sit one
  level below the page's heading that precedes the marker; ``docs/images/...`` paths
  and ```docs/page.md``` mentions become site links.
  A title that the README does not have fails the build.
* Sphinx roles: the docstrings are Google style with a few Sphinx roles
  (``:func:`adam```, ``:class:`~jaxsched.StatefulSchedule```), which Markdown renders
  literally as ``:func:<code>adam</code>``. The role prefix (and the ``~`` that shortens
  a path to its last part) is dropped from the rendered pages, leaving the code span.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

_MARKER = re.compile(r"^<!-- README: (.+?) -->[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) ")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc):(<code>)(~?)([^<]*)")


def _sections(readme: str) -> dict[str, list[str]]:
    """``## `` title -> the section's lines without the title; "(intro)" -> the top."""
    sections: dict[str, list[str]] = {"(intro)": []}
    current, fence = "(intro)", False
    for line in readme.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
            continue
        sections[current].append(line)
    return sections


def _shift(lines: list[str], by: int) -> list[str]:
    out, fence = [], False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        match = None if fence else _HEADING.match(line)
        if match and by:
            level = min(6, max(1, len(match.group(1)) + by))
            line = "#" * level + line[len(match.group(1)) :]
        out.append(line)
    return out


def _links(text: str, up: str) -> str:
    text = text.replace("](docs/images/", f"]({up}images/")
    return re.sub(r"`docs/([\w-]+\.md)`", lambda m: f"[`docs/{m[1]}`]({up}{m[1]})", text)


def on_page_markdown(markdown: str, page: Any, config: Any, **kwargs: Any) -> str:
    """Replace ``<!-- README: Title -->`` markers by the README's sections."""
    if not _MARKER.search(markdown):
        return markdown
    readme = Path(config["config_file_path"]).parent / "README.md"
    sections = _sections(readme.read_text(encoding="utf-8"))
    up = "../" * page.file.src_uri.count("/")

    def replace(match: re.Match[str]) -> str:
        title = match.group(1).strip()
        if title not in sections:
            raise PluginError(
                f"{page.file.src_uri}: README.md has no section '## {title}' "
                f"(it has: {', '.join(sections)})"
            )
        before = markdown[: match.start()]
        headings = re.findall(r"^(#{1,6}) ", before, re.MULTILINE)
        # the section's "###" subheadings sit one level below the page's last heading
        by = len(headings[-1]) - 2 if headings and title != "(intro)" else 0
        return _links("\n".join(_shift(sections[title], by)).strip("\n"), up)

    return _MARKER.sub(replace, markdown)


def _shorten(match: re.Match[str]) -> str:
    tilde, text = match.group(2), match.group(3)
    if tilde:
        text = text.rsplit(".", 1)[-1]
    return match.group(1) + text


def on_page_content(html: str, **kwargs: Any) -> str:
    """Drop Sphinx role prefixes from a page's HTML."""
    return _ROLE.sub(_shorten, html)
