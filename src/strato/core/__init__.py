"""The vocabulary every other part of strato shares and nothing else: errors, configuration, ids,
names, permissions, usage counting, capabilities, and the context and base class of resources.
It imports nothing else of strato."""
