from collectors.errors import SentinelError


class CatalogError(SentinelError):
    """A catalog or knowledge-base entry that cannot be used; names where and why."""
