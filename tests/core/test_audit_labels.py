"""The audit page shows every action in words, in French and English, never as a code."""

from __future__ import annotations

import re
from pathlib import Path

from app.audit.service import ACTION_LABELS
from app.core.i18n import use_locale

APP = Path(__file__).resolve().parents[2] / "app"


def test_every_action_written_to_the_audit_log_has_a_label_in_both_languages(app):
    codes = {m.group(1) for f in APP.rglob("*.py")
             for m in re.finditer(r'log_action\(\s*\w+,\s*"([a-z_.]+)"', f.read_text())}
    assert codes and not codes - set(ACTION_LABELS), sorted(codes - set(ACTION_LABELS))
    for code in codes:
        with use_locale("fr"):
            french = str(ACTION_LABELS[code])
        assert french and french != code
