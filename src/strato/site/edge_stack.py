"""``strato deploy`` of a stack outside us-east-1 with ``auth=`` sites: their Lambda@Edge gate goes in a
companion stack ``<stack>-edge`` in us-east-1 (edge_deploy.py says why), made from the main stack's pool
ids, and its version ARNs are the main stack's ``<Site>EdgeVersionArn`` parameters.

The pool ids exist only once the main stack does, so the first deploy runs the main stack once with the
parameters empty (pool, bucket, a disabled distribution: nothing is served), then the companion, then the
main stack again; later deploys run the companion first (the pool ids are in the outputs), then the main."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import logical
from .edge_deploy import EDGE_REGION, companion_template, version_parameter

if TYPE_CHECKING:
    from ..app import App
    from ..deploy.deploy import Deployer
    from . import Site


def gated_sites(app: App, region: str) -> list[Site]:
    """The sites needing a companion stack: gated ones, when the stack is not in us-east-1."""
    if region == EDGE_REGION:
        return []
    return [site for site in app.of_kind("site") if site.auth is not None]


def _pool_ids(site: Site, outputs: dict[str, str]) -> dict[str, str] | None:
    pool = site.pool
    stem = logical(site.name, "Site")
    ids = outputs.get(logical(pool.name, "UserPool")), outputs.get(logical(pool.name, "UserPoolClient"))
    if None in ids:
        return None
    return {f"{stem}PoolId": str(ids[0]), f"{stem}ClientId": str(ids[1])}


def with_edge(
    deployer: Deployer, app: App, stack: str, template: str, values: dict[str, str], sites: list[Site]
) -> dict[str, str]:
    """``values`` plus each gated site's edge version ARN, deploying what has to come first."""
    from ..deploy.deploy import Deployer
    from ..deploy.synth import render
    from ..deploy.tags import stack_tags

    outputs: dict[str, Any] = deployer.outputs(stack) if deployer.stack_status(stack) else {}
    ids = [_pool_ids(site, outputs) for site in sites]
    if any(found is None for found in ids):
        deployer.say(f"first deploy of {stack}: its distributions stay disabled until their us-east-1 gate exists")
        outputs = deployer.apply(stack, template, values, stack_tags(app))
        ids = [_pool_ids(site, outputs) for site in sites]
    lacking = sorted({site.pool.name for site, found in zip(sites, ids, strict=True) if found is None})
    if lacking:
        from ..core.errors import StratoError

        raise StratoError(
            f"stack {stack} has no id outputs of user pool(s) {', '.join(lacking)} "
            f"(it has {', '.join(sorted(outputs)) or 'none'}): the us-east-1 edge gate cannot be made"
        )
    parameters = {k: v for found in ids for k, v in (found or {}).items()}
    edge = Deployer(EDGE_REGION, say=deployer.say, poll=deployer.poll)
    companion = render(companion_template(app.name, app.config.stage, sites, deployer.region))
    edge_outputs = edge.apply(f"{stack}-edge", companion, parameters, stack_tags(app))
    versions = {version_parameter(site): edge_outputs.get(version_parameter(site)) for site in sites}
    if None in versions.values():
        from ..core.errors import StratoError

        missing = ", ".join(k for k, v in versions.items() if v is None)
        raise StratoError(f"stack {stack}-edge in {EDGE_REGION} has no output {missing}: the gate has no version")
    return {**values, **{k: str(v) for k, v in versions.items()}}
