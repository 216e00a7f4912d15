"""Write each <script> of a page once.

sphinx-thebe 0.3.1 adds its settings as an inline script (`const THEBE_JS_URL = ...`) after the HTML
builder has started. Sphinx 7.4 then lists that script twice, once as registered (file name None) and
once as copied from the registry for writing (file name ""), so every page declared the constant twice
and threw "Identifier 'THEBE_JS_URL' has already been declared". Jupyter Book 1.x requires Sphinx 7.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_repeated_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # The builder restores its own list before the next page, so editing this page's list in place is safe.
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    # After the other extensions (priority 500) have added their per-page scripts.
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
