"""aws-cli's global options, as kubeconfigs written for `aws eks get-token` carry them.

One table for the two readers of aws-style command lines: the CLI (which takes --region,
--profile and --output itself and names the others in its usage error) and migrate-kubeconfig
(which drops the ones that change nothing in the token). Stdlib only.
"""

from __future__ import annotations

# Global options that take a value, and those that do not (aws-cli v1 and v2).
VALUES = frozenset(
    {
        "--region",
        "--profile",
        "--output",
        "--endpoint-url",
        "--query",
        "--color",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
    }
)
FLAGS = frozenset(
    {
        "--debug",
        "--no-verify-ssl",
        "--no-paginate",
        "--no-sign-request",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
    }
)
# What eksauth's own command line accepts before a command, as aws-cli does.
TAKEN = frozenset({"--region", "--profile", "--output"})
# The rest, which eksauth refuses with a usage error that says why.
REFUSED = (VALUES | FLAGS) - TAKEN
# Options that change nothing in the token kubectl receives, so migration may drop them: get-token
# builds its STS clients from the region alone (no endpoint URL, no `verify`), and kubectl
# decodes an ExecCredential printed as JSON or YAML alike. --query, which can reshape the output,
# and --no-sign-request, which cannot sign at all, are not among them.
TOKEN_NEUTRAL = frozenset(
    {
        "--output",
        "--color",
        "--endpoint-url",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
        "--debug",
        "--no-paginate",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
        "--no-verify-ssl",
    }
)
