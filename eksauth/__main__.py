"""`python -m eksauth`: the same entry point as the console script, fast path first."""

import sys

from eksauth.fastpath import main

if __name__ == "__main__":
    sys.exit(main())
