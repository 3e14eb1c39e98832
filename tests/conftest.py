"""Shared fixtures: an isolated AWS environment per test, and the ways tests run eksauth.

Every test starts with no AWS_* variable, a private HOME and cache folder, empty AWS config
files and IMDS disabled, so nothing on the developer's machine (or the network) leaks in.

- `eksauth`: the real entry point in-process, at a pinned instant.
- `run_tool("eksauth" | "aws" | "kubectl", *args, env=...)`: that program in a fresh process, as
  a shell or kubectl runs it (a plain function: module helpers and parametrized cases use it).
- `keys_env` (or `with_keys(env)`), `kubectl_env`: the environment such a process gets (the
  example keys; for kubectl also KUBECONFIG in tmp_path, the keys known to the STS stand-in as
  IAM user alice).
- `sign_in`, `alice`: this process signed in as a session of a role the STS stand-in issued.
"""

from __future__ import annotations

import base64
import calendar
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import botocore.configprovider
import pytest

from eksauth import fastpath

pytest_plugins = ["tests.standins.fixtures", "tests.standins.moto_eks"]

# The example keys from AWS's documentation: real-format, never valid anywhere.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FROZEN = calendar.timegm((2026, 11, 23, 10, 0, 0))
FROZEN_ISO = "2026-11-23T10:00:00Z"
# Where this Python's scripts (eksauth, kubectl, aws) are installed: beside the interpreter in a
# venv, but `Scripts\` below it for a Windows Python outside a venv (actions/setup-python's).
BIN = Path(sysconfig.get_path("scripts"))
# Each awscli release pins one botocore (older ones also a PyYAML below 6), so it cannot be
# installed beside the floor versions: the floor run (.ci/run) installs the `test-core` extra,
# which leaves awscli out, and the tests that compare with aws-cli skip, saying why.
# botocore's own default for sts_regional_endpoints, which aws-cli follows: "legacy" before
# botocore 1.40.0, where eksauth still means "regional" (eksauth/aws/signer.py).
BOTOCORE_STS_DEFAULT = botocore.configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES[
    "sts_regional_endpoints"
][2]
requires_awscli = pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None,
    reason="awscli is not installed (it pins its own botocore, so the floor run leaves it out)",
)

# The token and URL printed in the seed article (shared/seeds/000…, Shell 1 and Shell 2).
SEED_TOKEN = (
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuYXAtbm9ydGhlYXN0LTIuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklk"
    "ZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNSZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVk"
    "ZW50aWFsPUFLSUFSNVFPRVpQVTRRWFg1SDRGJTJGMjAyMjA0MjYlMkZhcC1ub3J0aGVhc3QtMiUyRnN0cyUyRmF3czRf"
    "cmVxdWVzdCZYLUFtei1EYXRlPTIwMjIwNDI2VDE3MzI0MlomWC1BbXotRXhwaXJlcz02MCZYLUFtei1TaWduZWRIZWFk"
    "ZXJzPWhvc3QlM0J4LWs4cy1hd3MtaWQmWC1BbXotU2lnbmF0dXJlPTIxOGQ4MDQ5NTBlZGMxMWRlZmQ0OWMwYTFkNWZk"
    "YWNjMzI0Y2M4MzBmZDZmMDZkNTlhN2Q5NzUwMGZhM2U3Mzg"
)
SEED_URL = (
    "https://sts.ap-northeast-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAR5QOEZPU4QXX5H4F%2F20220426%2F"
    "ap-northeast-2%2Fsts%2Faws4_request&X-Amz-Date=20220426T173242Z&X-Amz-Expires=60"
    "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature="
    "218d804950edc11defd49c0a1d5fdacc324cc830fd6f06d59a7d97500fa3e738"
)
SEED_SIGNED = calendar.timegm((2022, 4, 26, 17, 32, 42))

ACCOUNT = "111122223333"
# The IAM user the example keys belong to in the STS stand-in's world, for kubectl's runs.
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
# A role with a path, as EKS stores it; alice's session of it, as STS reports it (no path).
ADMINS = f"arn:aws:iam::{ACCOUNT}:role/teams/eks-admins"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-admins/alice"


def kubectl_version(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real `kubectl ARGS get --raw /version`, as a user runs it: the API-server stand-ins
    answer it only for an authenticated request, so exit 0 means the exec plugin worked."""
    return subprocess.run(
        [tool("kubectl"), *args, "get", "--raw", "/version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_tool(
    name: str, *args: str | bytes, env: Any = None, timeout: float = 60, **kwargs: Any
) -> subprocess.CompletedProcess[Any]:
    """`tool(name) ARGS` in a fresh process, as a shell or kubectl runs it: no terminal on stdin,
    output captured (text, unless `text=False`), any exit status returned, never more than
    `timeout` seconds. `env` defaults to this test's environment (see `aws_env`)."""
    options: dict[str, Any] = {"stdin": subprocess.DEVNULL, "text": True, **kwargs}
    program: str | bytes = tool(name)
    if any(isinstance(arg, bytes) for arg in args):
        program = os.fsencode(program)
    return subprocess.run(
        [program, *args],
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        timeout=timeout,
        check=False,
        **options,
    )


def token_in_subprocess(profile: str, cluster: str = "demo") -> str:
    """`eksauth token --profile P` in a fresh process (its botocore reads the AWS files and
    caches anew, as a kubectl run's would); the bearer token it printed."""
    done = run_tool("eksauth", "token", "--cluster-name", cluster, "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return str(json.loads(done.stdout)["status"]["token"])


def mkfifo(path: str | os.PathLike[str], mode: int = 0o666) -> None:
    """`os.mkfifo`, or the test skips where the platform has no FIFOs (Windows)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("Windows has no FIFOs (os.mkfifo): the non-blocking-open rules are POSIX's")
    os.mkfifo(path, mode)


def tool(name: str) -> str:
    """An executable of the test environment: in this Python's scripts folder, else on PATH."""
    for beside in program_names(BIN / name):  # a venv's bin, or Windows' Scripts
        if beside.exists():
            return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is neither beside {sys.executable} nor on PATH")
    return found


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean, private environment; returns the fake HOME."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "EKSAUTH_", "KUBERNETES_", "XDG_")) or name in {
            "KUBECONFIG",
            "_EKSAUTH_COMPLETE",
        }:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("")
    (home / ".aws" / "credentials").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # As for a user who installed eksauth: the eksauth beside this Python is the one on PATH, so
    # the kubeconfig writers name it `eksauth` (tests of the off-PATH case set PATH themselves).
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    isolate_windows(monkeypatch, home, tmp_path)
    return home


@pytest.fixture
def static_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def eksauth(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the real entry point (fast path, then click) in-process at a pinned instant."""

    def run(*args: str, now: float = FROZEN) -> Result:
        capsys.readouterr()
        code = fastpath.main(list(args), now=now)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def with_keys(env: Mapping[str, str]) -> dict[str, str]:
    """`env`, for a fresh process, holding AWS's example keys."""
    return {**env, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


@pytest.fixture
def keys_env(aws_env: Path) -> dict[str, str]:
    """This test's environment, for a fresh process, holding AWS's example keys."""
    return with_keys(os.environ)


@pytest.fixture
def kubectl_env(
    keys_env: dict[str, str], world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment kubectl (and so the eksauth it runs) gets: the example keys, known to the
    STS stand-in as IAM user alice (USER_ARN); eksauth on PATH (as `aws_env` put it); KUBECONFIG
    in tmp_path, set in this process too, so in-process eksauth writes where kubectl reads."""
    world.add_user(ACCESS_KEY, SECRET_KEY, arn=USER_ARN)
    kubeconfig = str(tmp_path / "kube" / "config")
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    return {**keys_env, "KUBECONFIG": kubeconfig}


@pytest.fixture
def sign_in(world: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Any]:
    """`sign_in(ROLE_ARN, SESSION)`: this test's environment holds the keys of a session of the
    role that the STS stand-in issued, as a shell after `aws sso login` does; returns them."""

    def use(role_arn: str, session: str) -> Any:
        creds = world.issue_session(role_arn, session)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds.session_token)
        return creds

    return use


@pytest.fixture
def alice(sign_in: Callable[[str, str], Any]) -> Any:
    """Signed in as session alice of role teams/eks-admins (ADMINS, a role with a path)."""
    return sign_in(ADMINS, "alice")


def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "xdg-cache" / "eksauth"


OTHER_ACCESS_KEY = "AKIAI44QH8DHBEXAMPLE"
OTHER_SECRET_KEY = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
KNOWN_SECRETS = {ACCESS_KEY: SECRET_KEY, OTHER_ACCESS_KEY: OTHER_SECRET_KEY}


@pytest.fixture
def sts_checker(world: Any, sts_server: Any) -> Callable[..., str]:
    """Replay a token to the STS stand-in, as EKS does, and return the identity ARN.

    The stand-in verifies the SigV4 signature with its own code, against the Host the token
    names (sent as the Host header to loopback) and the x-k8s-aws-id header.
    """

    def check(bearer: str, cluster: str) -> str:
        body = bearer.strip()[len("k8s-aws-v1.") :]
        url = urlsplit(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode())
        query = parse_qs(url.query)
        key = query["X-Amz-Credential"][0].split("/")[0]
        if world.lookup(key) is None:
            world.add_user(
                key,
                KNOWN_SECRETS[key],
                session_token=query.get("X-Amz-Security-Token", [None])[0],
            )
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
        world.freeze(signed.replace(tzinfo=timezone.utc) + timedelta(seconds=30))
        conn = http.client.HTTPConnection("127.0.0.1", sts_server.port, timeout=5)
        try:
            conn.request(
                "GET",
                f"{url.path}?{url.query}",
                headers={"Host": url.netloc, "x-k8s-aws-id": cluster},
            )
            reply = conn.getresponse()
            text = reply.read().decode()
        finally:
            conn.close()
        assert reply.status == 200, text
        return text.split("<Arn>")[1].split("</Arn>")[0]

    return check


# -- Platforms: what differs on Windows and macOS, and what cannot run there (issue 23) --------
# Skips name the platform and what it lacks; nothing here skips on Linux.
WINDOWS = sys.platform == "win32"


def not_on_windows(reason: str) -> pytest.MarkDecorator:
    """Skip on Windows, saying why: `reason` names what Windows lacks or does instead."""
    return pytest.mark.skipif(WINDOWS, reason=f"Windows: {reason}")


# Windows has no POSIX modes or owners: eksauth leaves who may open its folders to their ACL
# there (README, "Windows and macOS"), so tests of 0600/0700 and of refusing loose files skip.
posix_modes = not_on_windows(
    "no POSIX file modes or owners; eksauth leaves access to the folder's ACL there"
)
# Windows has no O_NOFOLLOW: a link planted in place of an entry is followed when read there
# (README, "Windows and macOS"); only a reparse-point folder is refused. Creating a symlink
# also needs administrator rights or Developer Mode.
posix_nofollow = not_on_windows(
    "no O_NOFOLLOW, so a link planted in place of a file is followed (README); "
    "creating one also needs administrator rights"
)
# A test whose BROWSER is a `#!/bin/sh` script because its shell behaviour is the point (it
# prints, sleeps, starts a background child): Windows runs only .exe/.cmd programs. (The plain
# browser stand-in is a real program there: `windows_program`.)
posix_shell = not_on_windows("this BROWSER is a #!/bin/sh script: its shell behaviour is tested")


def program_names(path: Path) -> tuple[Path, ...]:
    """The files a program `path` may be, in the order Windows would run them: `aws.cmd`
    before the bare `aws` Python script awscli also installs, which Windows cannot run."""
    if WINDOWS:
        return tuple(path.with_name(path.name + ext) for ext in (".exe", ".cmd", ".bat", ""))
    return (path,)


def fake_program(folder: Path, name: str) -> Path:
    """A file PATH lookups take for the program `name` (never run): `NAME.exe` on Windows
    (shutil.which and kubectl look for PATHEXT's extensions there), an executable script
    elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    if WINDOWS:
        path = folder / f"{name}.exe"
        path.write_bytes(b"")
        return path
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def isolate_windows(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> None:
    """On Windows, the same private home and cache as elsewhere: `~` is USERPROFILE there (HOME
    is not read), and the cache folder is the known folder %LOCALAPPDATA%, which no variable
    moves (platformdirs asks Windows), so each test names its own through EKSAUTH_CACHE_DIR
    (subprocesses, kubectl's exec plugins included, inherit it)."""
    if not WINDOWS:
        return
    for name in ("HOMEDRIVE", "HOMEPATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("EKSAUTH_CACHE_DIR", str(cache_dir(tmp_path)))


def symlink(link: Path, target: Path) -> None:
    """`link.symlink_to(target)`, or the test skips where making one is not allowed (Windows
    without administrator rights or Developer Mode). What eksauth does with a link it finds by
    `lstat` holds there too; what rests on O_NOFOLLOW is marked `posix_nofollow` instead."""
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError as exc:
        if not WINDOWS:
            raise
        pytest.skip(f"Windows: creating a symlink needs administrator rights ({exc})")


def windows_program(path: Path, script: Path) -> Path:
    """`path` (NAME.exe): a Windows program running the Python file `script` with this
    interpreter, passing its arguments through untouched, made as pip makes console scripts
    (pip's launcher, a `#!` line naming the interpreter, then a zip whose __main__ runs `script`).
    A .cmd would not do: cmd.exe splits an argument (a sign-in URL) at its `&`s."""
    import io
    import zipfile

    try:
        from pip._vendor.distlib.scripts import ScriptMaker
    except ImportError:
        pytest.skip("Windows: pip's launcher is needed to make a program of a Python script")
    launcher = ScriptMaker(None, None)._get_launcher("t")  # type: ignore[attr-defined]
    main = (
        f"import runpy, sys\nsys.argv[0] = {str(script)!r}\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("__main__.py", main)
    path.write_bytes(launcher + f'#!"{sys.executable}"\r\n'.encode() + stream.getvalue())
    return path


def linux_only(reason: str) -> pytest.MarkDecorator:
    """Skip off Linux (macOS, Windows), saying why: `reason` names what only Linux has."""
    return pytest.mark.skipif(sys.platform != "linux", reason=f"not Linux: {reason}")
