"""What a site asks of a provider: nothing at run time. A site's files are served by ``strato dev``
locally and by S3 + CloudFront on AWS; no Lambda code reads or writes them, so there is no backend
Protocol, no optional capability and no ``allow=`` action."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CAPABILITIES: frozenset[str] = frozenset()
ACTIONS: Mapping[str, Sequence[str]] = {}

# CloudFront's price classes (the edge locations a distribution uses, cheapest first).
PRICE_CLASSES: frozenset[str] = frozenset({"PriceClass_100", "PriceClass_200", "PriceClass_All"})
