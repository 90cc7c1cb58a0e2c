"""axe-core in the browser tests: inject the engine (installed by ``make axe``) into a page and
list what it finds at the serious and critical levels against WCAG 2 A/AA."""

from __future__ import annotations

from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def serious_findings(page) -> list[str]:
    """Every serious or critical violation on the page as loaded, one line each (rule, target).
    The page's context must be opened with ``bypass_csp=True``: the app's CSP refuses injected scripts."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make axe` (make test-e2e does)")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    out = []
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            for node in v["nodes"]:
                out.append(f"{v['id']} ({v['impact']}): {node['target']} — {node.get('failureSummary', '')[:200]}")
    return out
