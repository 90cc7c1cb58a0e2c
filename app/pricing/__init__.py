"""One pricing layer: VAT as data, priced lines (quotes) and the immutable charges they leave."""
