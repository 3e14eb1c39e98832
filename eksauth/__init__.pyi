# The public API as type checkers see it; __init__.py loads the same names lazily (PEP 562).
from eksauth.errors import AwsError as AwsError
from eksauth.errors import CredentialsError as CredentialsError
from eksauth.errors import EksAuthError as EksAuthError
from eksauth.errors import StsError as StsError
from eksauth.errors import UsageError as UsageError
from eksauth.library import Token as Token
from eksauth.library import get_token as get_token

__version__: str
__all__: list[str]
