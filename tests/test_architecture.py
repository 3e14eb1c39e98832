"""The house rules, checked mechanically: dependencies point down, one AWS boundary, one table
of token options, small modules, and a signer pinned to botocore's public behaviour."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import click
import pytest

from eksauth import tokenargs
from eksauth.cli import main
from tests.conftest import ACCESS_KEY, FROZEN, SECRET_KEY

PACKAGE = Path(__file__).resolve().parents[1] / "eksauth"
# The AWS boundary is the folder eksauth/aws/. Four of its modules import botocore: sessions,
# clients and the one error mapping (boundary.py), the SigV4 presign (signer.py), aws-cli's
# role-session cache (rolesessions.py, botocore's JSONFileCache) and the sign-in's sso-oidc client
# (ssooidc.py). Its other modules (calls.py, refusals.py, cliargs.py) use botocore only through
# them, or not at all.
BOTOCORE_MODULES = {
    "eksauth.aws.boundary",
    "eksauth.aws.signer",
    "eksauth.aws.rolesessions",
    "eksauth.aws.ssooidc",
}
# Which subpackages each subpackage may import (../shared/STYLE.md's module table), so the folder
# tree reads bottom-up: files, then the token, then AWS, then what is built on AWS. The flat
# modules at the top (the hit unit, the orchestrator, the library) are held instead by the
# no-cycle test below and by tests/hitprobe.py (what a cache hit may load).
SUBPACKAGES = ("files", "token", "aws", "sso", "kubeconfig", "identity", "cli")
MAY_IMPORT = {
    "files": set(),
    "token": {"files"},
    "aws": {"files", "token"},
    "sso": {"files", "token", "aws"},
    "kubeconfig": {"files", "token", "aws"},
    "identity": {"files", "token", "aws", "sso", "kubeconfig"},
    "cli": set(SUBPACKAGES) - {"cli"},
}
MAX_MODULE_LINES = 400
TYPING_GUARDS = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
# Packages of type stubs only (boto3-stubs): installed for mypy, absent where eksauth runs.
STUB_PACKAGES = ("mypy_boto3_", "botocore_stubs", "boto3_stubs")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _typing_only(tree: ast.AST) -> set[ast.AST]:
    """The import statements under `if TYPE_CHECKING:`: read by mypy, never run."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPING_GUARDS:
            for statement in node.body:
                found |= {
                    n for n in ast.walk(statement) if isinstance(n, (ast.Import, ast.ImportFrom))
                }
    return found


def _imports(name: str, path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module `name` imports (at top level or inside functions), absolute names;
    `runtime_only` leaves out those under `if TYPE_CHECKING:`."""
    seen: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = _typing_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            seen |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            seen.add(base)
            seen |= {f"{base}.{alias.name}" for alias in node.names}
    return seen


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {d for d in _imports(name, path) if d in modules and d != name}
        for name, path in modules.items()
    }


def test_the_import_graph_inside_eksauth_has_no_cycle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node) :], node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for dependency in sorted(graph[node]):
            visit(dependency, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_command_modules_never_import_the_package_that_registers_them() -> None:
    graph = _graph()
    for name, dependencies in graph.items():
        if name.startswith("eksauth.cli."):
            assert "eksauth.cli" not in dependencies, name


def _defines_a_command(path: Path) -> bool:
    """Whether the module defines a click command or group (`@click.command(...)`)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (
                    isinstance(call, ast.Attribute)
                    and call.attr in ("command", "group")
                    and isinstance(call.value, ast.Name)
                    and call.value.id == "click"
                ):
                    return True
    return False


def test_no_command_module_imports_another() -> None:
    """What command modules share lives in `cli/options.py`, in a cli helper module that
    defines no command (`kubeconfig_one`, `kubeconfig_all`, `caller`), or in the library."""
    modules = _modules()
    commands = {
        name
        for name, path in modules.items()
        if name.startswith("eksauth.cli.") and _defines_a_command(path)
    }
    assert {"eksauth.cli.whoami", "eksauth.cli.identity", "eksauth.cli.kubeconfig"} <= commands
    assert "eksauth.cli.options" not in commands
    graph = _graph()
    for name in sorted(modules):
        if name.startswith("eksauth.cli."):
            assert not graph[name] & (commands - {name}), name


def test_only_the_aws_boundary_imports_botocore_or_boto3() -> None:
    """At run time: a name imported under `if TYPE_CHECKING:` loads nothing."""
    importers = {
        name
        for name, path in _modules().items()
        if any(
            d.split(".")[0] in ("botocore", "boto3")
            for d in _imports(name, path, runtime_only=True)
        )
    }
    assert importers == BOTOCORE_MODULES
    assert all(name.startswith("eksauth.aws.") for name in importers)


def _subpackage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in SUBPACKAGES else None


def test_subpackages_import_only_the_ones_below_them() -> None:
    wrong = []
    for name, dependencies in _graph().items():
        here = _subpackage(name)
        if here is None:
            continue
        for dependency in sorted(dependencies):
            there = _subpackage(dependency)
            if there not in (None, here) and there not in MAY_IMPORT[here]:
                wrong.append(f"{name} -> {dependency}")
    assert wrong == []


def test_every_subpackage_has_a_rule() -> None:
    found = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert found == set(SUBPACKAGES) == set(MAY_IMPORT)


def test_stub_packages_are_imported_only_for_type_checking() -> None:
    typed = set()
    for name, path in _modules().items():
        every, runtime = _imports(name, path), _imports(name, path, runtime_only=True)
        assert not [d for d in runtime if d.startswith(STUB_PACKAGES)], name
        typed |= {name for d in every if d.startswith(STUB_PACKAGES)}
    assert "eksauth.identity.eksapi" in typed  # the rule has something to check


def test_the_library_never_imports_click() -> None:
    for name, path in _modules().items():
        if not name.startswith("eksauth.cli"):
            assert not any(d.split(".")[0] == "click" for d in _imports(name, path)), name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


# -- the fast path recognises exactly the options the CLI defines --------------------------------

# Options of `token` that the fast path leaves to the CLI on purpose: they change what a run does
# (no cache, a new token, help), so a cache hit must not answer them.
CLI_ONLY = {"--no-cache", "--refresh", "--help", "-h"}


def _click_options(command: click.Command) -> dict[str, click.Option]:
    table = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for spelling in (*param.opts, *param.secondary_opts):
                table[spelling] = param
    return table


def test_fastpath_token_options_match_clicks() -> None:
    command = main.commands["token"]
    click_options = _click_options(command)
    fast = {**tokenargs.TOKEN_VALUES, **tokenargs.TOKEN_FLAGS}
    assert set(fast) | CLI_ONLY == set(click_options) | {"--help", "-h"}
    for spelling, destination in tokenargs.TOKEN_VALUES.items():
        option = click_options[spelling]
        assert not option.is_flag, spelling
        assert option.name == destination, spelling
    for spelling, destination in tokenargs.TOKEN_FLAGS.items():
        option = click_options[spelling]
        assert option.is_flag, spelling
        assert option.name == destination, spelling


def test_fastpath_global_options_match_clicks() -> None:
    for group in (main, main.commands["eks"]):
        assert isinstance(group, click.Group)
        options = _click_options(group)
        for spelling, destination in tokenargs.GLOBAL_VALUES.items():
            assert options[spelling].name == destination
        assert set(options) - {"--version", "--help", "-h"} == set(tokenargs.GLOBAL_VALUES)


def test_get_token_and_eks_get_token_are_the_token_command() -> None:
    eks = main.commands["eks"]
    assert isinstance(eks, click.Group)
    token_params = main.commands["token"].params
    assert main.commands["get-token"].params == token_params
    assert eks.commands["get-token"].params == token_params


# -- the signer's private-method subclass equals botocore's public add_auth ----------------------


def test_public_sigv4_query_auth_at_a_frozen_clock_gives_the_same_url() -> None:
    """`signer._QueryAuthAt` repeats SigV4QueryAuth.add_auth's steps at a given instant through
    botocore's private methods; botocore's public add_auth under a frozen clock must agree."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials
    from freezegun import freeze_time

    from eksauth.aws import signer
    from eksauth.token import bearer

    creds = ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, "session-token")
    url_base = "https://sts.eu-west-1.amazonaws.com"
    ours = signer.presign(creds, url_base, "eu-west-1", "demo", FROZEN)
    request = AWSRequest(
        method="GET",
        url=url_base + "/",
        params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={bearer.CLUSTER_ID_HEADER: "demo"},
    )
    with freeze_time(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(FROZEN))):
        SigV4QueryAuth(creds, "sts", "eu-west-1", expires=60).add_auth(request)
    assert str(request.url) == ours


def test_every_subpackage_ships_in_the_wheel() -> None:
    """`pip install .` (not only -e) must carry eksauth/cli and eksauth/kubeconfig."""
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'include = ["eksauth", "eksauth.*"]' in text  # setuptools' package discovery
    assert (PACKAGE / "py.typed").exists()
    for path in PACKAGE.rglob("*.py"):
        assert (path.parent / "__init__.py").exists(), f"{path.parent} is not a package"


def test_the_aws_spelling_fills_every_option_of_eksauths_update_kubeconfig() -> None:
    """`eks update-kubeconfig` runs update-kubeconfig's body: each option it lacks needs a value
    (--all's own options never reach that body)."""
    from eksauth.cli import awskubeconfig, kubeconfig_all

    eks = main.commands["eks"]
    assert isinstance(eks, click.Group)
    own = {p.name for p in main.commands["update-kubeconfig"].params}
    aws = {p.name for p in eks.commands["update-kubeconfig"].params}
    assert own - aws - kubeconfig_all.ALL_PARAMS == set(awskubeconfig._EKSAUTH_ONLY)
