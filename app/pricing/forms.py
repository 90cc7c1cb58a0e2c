"""What the settings, resource and event forms share about VAT: the rate choices."""

from __future__ import annotations

from app.core.i18n import _
from app.core.money import format_rate
from app.pricing.vat import VAT_RATES_BP, rate_label


def vat_choices(*, default_choice: bool = True) -> list[tuple[str, str]]:
    """``(value, label)`` options of a VAT rate select; ``""`` is the space's default rate."""
    rates = [(rate_label(r), format_rate(r)) for r in VAT_RATES_BP]
    return [("", _("Default rate of the space")), *rates] if default_choice else rates
