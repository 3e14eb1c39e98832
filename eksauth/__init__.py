"""eksauth: a fast, caching replacement for `aws eks get-token`, and a library for the same job.

    >>> import eksauth
    >>> token = eksauth.get_token("demo", region="eu-west-1")  # doctest: +SKIP
    >>> token.token, token.expiration  # doctest: +SKIP

Nothing is imported here: the cache-hit path starts by importing this package, so the public
names (`get_token`, `Token` and the error types) are loaded on first use (PEP 562), and
type checkers read them from `__init__.pyi`. Importing nothing here also keeps the package
itself out of every import cycle (a test parses the imports).
"""

__version__ = "0.1.0"

__all__ = [
    "AwsError",
    "CredentialsError",
    "EksAuthError",
    "StsError",
    "Token",
    "UsageError",
    "get_token",
]

# Where each public name lives; loaded on first access.
_PUBLIC = {
    "get_token": "eksauth.library",
    "Token": "eksauth.library",
    "EksAuthError": "eksauth.errors",
    "UsageError": "eksauth.errors",
    "CredentialsError": "eksauth.errors",
    "AwsError": "eksauth.errors",
    "StsError": "eksauth.errors",
}


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'eksauth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
