"""The site's machinery, which no snippet imports: what ran to make each published figure
(`provenance`, `code_units`), how benchmarks compare methods (`protocol`), the pages' summaries of
benchmark runs (`summaries`) and the playground's export (`playground`). A `pip install` of the
project leaves it out: a notebook outside the checkout never needs it."""
