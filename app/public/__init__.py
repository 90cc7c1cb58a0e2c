"""A space's public page: what a visitor sees at ``/s/{slug}`` (members see their space's home)."""
