"""AWS's tag rules, checked where ``app.tags()`` is called (deploy/tags.py writes the tags into the template)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import ConfigurationError

# Tag restrictions common to AWS services, e.g. https://docs.aws.amazon.com/ARG/latest/userguide/tag-editor.html
# and the ECS Tag type: keys 1-128 characters, values 0-256, letters, digits, spaces and + - = . _ : / @,
# keys not starting with aws: (any case), at most 50 user tags per resource.
MAX_KEY, MAX_VALUE, MAX_TAGS = 128, 256, 50
_ALLOWED = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)


def check(tags: Mapping[str, str]) -> dict[str, str]:
    """AWS's tag rules, as a ConfigurationError naming the tag and the rule."""
    if not isinstance(tags, Mapping):
        raise ConfigurationError(f"app.tags() takes a dict of key -> value, not {tags!r}")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            raise ConfigurationError(f"tag key {key!r}: 1 to {MAX_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ConfigurationError(f"tag {key!r}: the value is a string of at most {MAX_VALUE} characters")
        if key.lower().startswith("aws:"):
            raise ConfigurationError(f"tag key {key!r}: the aws: prefix is reserved for AWS")
        for label, text in (("key", key), ("value", value)):
            if not _ALLOWED.match(text):
                raise ConfigurationError(
                    f"tag {label} {text!r}: letters, digits, spaces and + - = . _ : / @ only (AWS's tag characters)"
                )
    if len(tags) > MAX_TAGS:
        raise ConfigurationError(f"{len(tags)} tags: AWS allows {MAX_TAGS} per resource")
    return dict(tags)
