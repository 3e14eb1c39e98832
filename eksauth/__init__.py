"""eksauth: a fast, caching replacement for `aws eks get-token`.

Nothing is imported here: the cache-hit path starts by importing this package.
"""

__version__ = "0.1.0"
