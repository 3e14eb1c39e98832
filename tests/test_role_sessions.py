"""Role profiles share aws-cli's credential cache: one AssumeRole, one MFA prompt, per session.

Tokens are renewed at pinned instants; botocore decides whether a cached role session is still
good with its own clock (datetime.now), so in-process runs freeze that clock with freezegun at
the same instant as eksauth's `now` and the STS stand-in's World. Subprocess runs (the real
`aws`, the installed eksauth, kubectl) either run at the real time or, for "+20 minutes", run
eksauth's entry point under freezegun in the child.
"""

from __future__ import annotations

import calendar
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from eksauth.aws import boundary as aws
from eksauth.aws import rolesessions
from eksauth.lookup import token_key
from eksauth.request import validated_request
from eksauth.token import bearer as token
from tests.conftest import (
    ACCESS_KEY,
    FROZEN,
    SECRET_KEY,
    WINDOWS,
    mkfifo,
    posix_nofollow,
    run_tool,
    tool,
    with_keys,
)

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/EksAdmin"
MFA_SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
TOKEN = ("token", "--cluster-name", "demo", "--region", "eu-west-1")
PROMPT = b"Enter MFA code for"


@pytest.fixture
def sts_env(aws_env: Path, sts_server: Any, world: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Static keys in profile `base`, STS on loopback; returns the fake HOME."""
    world.add_user(ACCESS_KEY, SECRET_KEY, arn=f"arn:aws:iam::{ACCOUNT}:user/alice")
    (aws_env / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
    return aws_env


def write_profile(
    home: Path, name: str = "admin", role_arn: str = ROLE_ARN, extra: str = ""
) -> None:
    config = home / ".aws" / "config"
    config.write_text(f"[profile {name}]\nrole_arn = {role_arn}\nsource_profile = base\n{extra}")
    # A person edits the file seconds after the last run, never within one timestamp tick.
    later = time.time() + 2
    os.utime(config, (later, later))


def aws_cli_cache(home: Path) -> Path:
    return home / ".aws" / "cli" / "cache"


def session_files(home: Path) -> list[Path]:
    return sorted(aws_cli_cache(home).glob("*.json"))


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def signed_at(bearer: str) -> str:
    return token.decode(bearer.strip()).split("X-Amz-Date=")[1][:16]


def key_id(bearer: str) -> str:
    return token.decode(bearer.strip()).split("X-Amz-Credential=")[1].split("%2F")[0]


def run_frozen(eksauth: Any, world: Any, epoch: float, *args: str) -> Any:
    """eksauth in-process at `epoch`, with botocore's clock and the World's stopped there too."""
    world.freeze(at(epoch))
    with freeze_time(at(epoch)):
        return eksauth(*args, now=epoch)


class TestRenewals:
    def test_four_renewals_over_42_minutes_assume_once(
        self, eksauth, world, sts_env, sts_checker
    ) -> None:
        write_profile(sts_env)
        seen = set()
        for minutes in (0, 14, 28, 42):
            moment = FROZEN + minutes * 60
            result = run_frozen(eksauth, world, moment, *TOKEN, "--profile", "admin")
            assert result.exit_code == 0, result.stderr
            assert result.stderr == ""
            bearer = json.loads(result.stdout)["status"]["token"]
            assert signed_at(bearer) == at(moment).strftime("%Y%m%dT%H%M%SZ")
            seen.add(key_id(bearer))
        assert world.calls["AssumeRole"] == 1
        assert len(seen) == 1
        assert seen.pop().startswith("ASIA")
        assert len(session_files(sts_env)) == 1
        # 46 minutes in, 14 remain: inside botocore's 15-minute window, so a new session.
        late = run_frozen(
            eksauth, world, FROZEN + 46 * 60, *TOKEN, "--profile", "admin", "--refresh"
        )
        assert late.exit_code == 0, late.stderr
        assert world.calls["AssumeRole"] == 2
        assert sts_checker(json.loads(late.stdout)["status"]["token"], "demo").startswith(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/"
        )

    def test_cached_session_expiry_reaches_the_token(self, world, sts_env) -> None:
        """botocore sets the cached session's expiry, so the token cap sees it."""
        write_profile(sts_env)
        world.freeze(at(FROZEN))
        with freeze_time(at(FROZEN)):
            first = aws.source_credentials(
                aws.session("admin", interactive=False, region_name="eu-west-1")
            )
        with freeze_time(at(FROZEN + 30 * 60)):
            again = aws.source_credentials(
                aws.session("admin", interactive=False, region_name="eu-west-1")
            )
        assert world.calls["AssumeRole"] == 1
        assert again == first
        assert first[1] == FROZEN + 3600

    def test_a_changed_role_arn_misses(self, eksauth, world, sts_env, sts_checker) -> None:
        write_profile(sts_env)
        first = run_frozen(
            eksauth, world, FROZEN, *TOKEN, "--profile", "admin", "--output", "token"
        )
        assert "/EksAdmin/" in sts_checker(first.stdout, "demo")
        viewer = f"arn:aws:iam::{ACCOUNT}:role/EksViewer"
        write_profile(sts_env, role_arn=viewer)
        second = run_frozen(
            eksauth, world, FROZEN + 60, *TOKEN, "--profile", "admin", "--output", "token"
        )
        assert second.exit_code == 0, second.stderr
        assert second.stdout != first.stdout
        assert world.calls["AssumeRole"] == 2
        assert "/EksViewer/" in sts_checker(second.stdout, "demo")


class TestTokenKey:
    @pytest.mark.parametrize(
        ("changed", "extra"),
        [
            ("role_arn", ""),
            ("source_profile", ""),
            ("mfa_serial", f"mfa_serial = {MFA_SERIAL}\n"),
        ],
    )
    def test_a_changed_profile_is_a_new_token_key(self, aws_env, changed, extra) -> None:
        request = validated_request(cluster_name="demo", cluster_id=None, profile="admin")
        write_profile(aws_env)
        before = token_key(request, os.environ)
        if changed == "role_arn":
            write_profile(aws_env, role_arn=f"arn:aws:iam::{ACCOUNT}:role/EksAdmim")
        elif changed == "source_profile":
            config = aws_env / ".aws" / "config"
            text = config.read_text().replace("source_profile = base", "source_profile = bass")
            config.write_text(text)
            later = time.time() + 2
            os.utime(config, (later, later))
        else:
            write_profile(aws_env, extra=extra)
        assert token_key(request, os.environ) != before


class TestSharedWithAwsCli:
    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_tool("aws", *args, "--region", "eu-west-1", "--output", "json")

    def test_aws_cli_session_serves_eksauth(self, eksauth, world, sts_env, sts_checker) -> None:
        write_profile(sts_env)
        caller = self.aws("sts", "get-caller-identity", "--profile", "admin")
        assert caller.returncode == 0, caller.stderr
        assert world.calls["AssumeRole"] == 1
        (entry,) = session_files(sts_env)
        cached = json.loads(entry.read_text())["Credentials"]["AccessKeyId"]

        result = eksauth(*TOKEN, "--profile", "admin", "--output", "token", now=time.time())
        assert result.exit_code == 0, result.stderr
        assert world.calls["AssumeRole"] == 1
        assert key_id(result.stdout) == cached
        assert sts_checker(result.stdout, "demo") == json.loads(caller.stdout)["Arn"]

    def test_eksauth_session_serves_aws_cli(self, eksauth, world, sts_env) -> None:
        write_profile(sts_env, extra=f"mfa_serial = {MFA_SERIAL}\n")
        result = run_in_terminal([tool("eksauth"), *TOKEN, "--profile", "admin"], dict(os.environ))
        assert (result.code, result.prompts) == (0, 1), result.output
        assert world.calls["AssumeRole"] == 1
        (entry,) = session_files(sts_env)
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600

        # aws-cli, without a terminal, would have to prompt unless it reads eksauth's session.
        caller = self.aws("sts", "get-caller-identity", "--profile", "admin")
        assert caller.returncode == 0, caller.stderr
        assert world.calls["AssumeRole"] == 1
        assert json.loads(caller.stdout)["Arn"].startswith(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/"
        )


class Terminal:
    def __init__(self, code: int, output: str, prompts: int) -> None:
        self.code, self.output, self.prompts = code, output, prompts


def run_in_terminal(argv: list[str], env: dict[str, str], timeout: float = 60) -> Terminal:
    """Run `argv` on a pseudo-terminal (its controlling tty); answer each MFA prompt."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX's (no pty on Windows)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with server threads: we exec
        pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.execve(argv[0], argv, env)  # noqa: S606 -- argv is the test's own
        finally:
            os._exit(127)
    output, prompts = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"{argv[0]} did not finish: {output!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if output.count(PROMPT) > prompts:
                prompts += 1
                os.write(fd, b"123456\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return Terminal(code, output.decode("utf-8", "replace"), prompts)


def frozen_eksauth(epoch: float) -> list[str]:
    """The installed eksauth's entry point, in a child whose clock reads `epoch`."""
    script = (
        "import sys\nfrom freezegun import freeze_time\n"
        f"with freeze_time({at(epoch).isoformat()!r}):\n"
        "    from eksauth.fastpath import main\n"
        "    code = main(sys.argv[1:])\n"
        "sys.exit(code)\n"
    )
    return [sys.executable, "-c", script]


def exec_credential_token(output: str) -> str:
    text = output[output.index("{") :]
    return str(json.loads(text.replace("\r\n", "\n"))["status"]["token"])


class TestMfa:
    def test_prompts_once_then_renews_silently_at_20_minutes(
        self, world, sts_env, sts_checker
    ) -> None:
        write_profile(sts_env, extra=f"mfa_serial = {MFA_SERIAL}\n")
        start = float(int(time.time()))
        world.freeze(at(start))
        env = dict(os.environ)
        first = run_in_terminal([tool("eksauth"), *TOKEN, "--profile", "admin"], env)
        assert (first.code, first.prompts) == (0, 1), first.output
        assert MFA_SERIAL in first.output

        renewed = run_in_terminal(
            [*frozen_eksauth(start + 20 * 60), *TOKEN, "--profile", "admin"], env
        )
        assert (renewed.code, renewed.prompts) == (0, 0), renewed.output
        bearer = exec_credential_token(renewed.output)
        assert signed_at(bearer) == at(start + 20 * 60).strftime("%Y%m%dT%H%M%SZ")
        assert world.calls["AssumeRole"] == 1
        assert "/EksAdmin/" in sts_checker(bearer, "demo")

        # A run that may not prompt (kubectl without a terminal) is served the session too.
        env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": "client.authentication.k8s.io/v1beta1", "spec": {"interactive": False}}
        )
        quiet = subprocess.run(
            [*frozen_eksauth(start + 25 * 60), *TOKEN, "--profile", "admin", "--refresh"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (quiet.returncode, quiet.stderr) == (0, "")
        assert world.calls["AssumeRole"] == 1

    def test_under_kubectl_with_a_terminal(self, world, sts_env, eks_api, tmp_path) -> None:
        write_profile(sts_env, extra=f"mfa_serial = {MFA_SERIAL}\n")
        start = float(int(time.time()))
        env = dict(os.environ)

        def kubectl(command: list[str], name: str) -> Terminal:
            config = eks_api.kubeconfig(
                exec_command=command[0], exec_args=[*command[1:], *TOKEN, "--profile", "admin"]
            )
            config["users"][0]["user"]["exec"]["interactiveMode"] = "IfAvailable"
            path = tmp_path / name
            path.write_text(json.dumps(config))
            argv = [tool("kubectl"), "--kubeconfig", str(path), "get", "--raw", "/version"]
            return run_in_terminal(argv, env)

        world.freeze(at(start))
        first = kubectl([tool("eksauth")], "first")
        assert (first.code, first.prompts) == (0, 1), first.output
        assert '"gitVersion"' in first.output

        world.freeze(at(start + 20 * 60 + 5))
        renewed = kubectl(frozen_eksauth(start + 20 * 60), "renewed")
        assert (renewed.code, renewed.prompts) == (0, 0), renewed.output
        assert '"gitVersion"' in renewed.output
        assert world.calls["AssumeRole"] == 1
        assert len(eks_api.seen) == 2
        assert eks_api.seen[0].access_key_id == eks_api.seen[1].access_key_id


class TestHostileFiles:
    def key(self, home: Path) -> Path:
        """The file botocore reads for profile `admin`, by its own key."""
        (name,) = [k for k, (p, _) in rolesessions.role_session_profiles().items() if p == "admin"]
        folder = aws_cli_cache(home)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.json"

    @pytest.mark.parametrize(
        "kind",
        [
            "fifo",
            pytest.param("symlink", marks=posix_nofollow),
            "garbage",
            "no-zone",
            "not-a-dict",
            "huge",
            "deeply-nested",
            "year-9999-west-of-utc",
            "assumed-role-user-not-a-dict",
        ],
    )
    def test_a_planted_entry_is_a_miss(self, eksauth, world, sts_env, tmp_path, kind) -> None:
        write_profile(sts_env)
        path = self.key(sts_env)
        good = {
            "Credentials": {
                "AccessKeyId": "ASIAPLANTED",
                "SecretAccessKey": "x",
                "SessionToken": "y",
                "Expiration": "2099-01-01T00:00:00",
            }
        }
        if kind == "fifo":
            mkfifo(path)
        elif kind == "symlink":
            target = tmp_path / "elsewhere.json"
            good["Credentials"]["Expiration"] = "2099-01-01T00:00:00Z"
            target.write_text(json.dumps(good))
            path.symlink_to(target)
        elif kind == "garbage":
            path.write_bytes(b"\xff{not json")
        elif kind == "no-zone":
            path.write_text(json.dumps(good))
        elif kind == "not-a-dict":
            path.write_text("[1, 2]")
        elif kind == "deeply-nested":
            path.write_text("[" * 100_000 + "]" * 100_000)
        elif kind == "year-9999-west-of-utc":
            good["Credentials"]["Expiration"] = "9999-12-31T23:59:59-12:00"
            path.write_text(json.dumps(good))
        elif kind == "assumed-role-user-not-a-dict":
            good["Credentials"]["Expiration"] = "2099-01-01T00:00:00Z"
            path.write_text(json.dumps({**good, "AssumedRoleUser": "x"}))
        else:
            path.write_text(" " * (1024 * 1024))
        listed = eksauth("cache", "list", "--json")  # skips it, silently
        assert (listed.exit_code, listed.stderr) == (0, ""), listed.stderr
        result = run_frozen(
            eksauth, world, FROZEN, *TOKEN, "--profile", "admin", "--output", "token"
        )
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        assert key_id(result.stdout) != "ASIAPLANTED"
        assert world.calls["AssumeRole"] == 1
        assert path.is_file()  # botocore's write replaced it
        assert not path.is_symlink()

    def test_an_unwritable_folder_costs_one_warning(self, eksauth, world, sts_env) -> None:
        write_profile(sts_env)
        (sts_env / ".aws" / "cli").write_text("not a folder")
        result = run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin")
        assert result.exit_code == 0
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: warning: could not cache the role session in ")


class TestCacheCommands:
    def test_list_and_clear(self, eksauth, world, sts_env) -> None:
        write_profile(sts_env, extra="role_session_name = kube-admin\n")
        run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin")
        listing = eksauth("cache", "list", now=FROZEN + 90)
        assert listing.exit_code == 0
        lines = listing.stdout.splitlines()
        assert lines[-2].split() == ["PROFILE", "ROLE_ARN", "SESSION", "EXPIRATION", "TIME_LEFT"]
        assert lines[-1].split() == [
            "admin",
            ROLE_ARN,
            "kube-admin",
            "2026-11-23T11:00:00Z",
            "58m30s",
        ]
        secret = json.loads(session_files(sts_env)[0].read_text())["Credentials"]
        for value in (secret["SecretAccessKey"], secret["SessionToken"], secret["AccessKeyId"]):
            assert value not in listing.stdout
        rows = json.loads(eksauth("cache", "list", "--json", now=FROZEN + 90).stdout)
        assert [r["kind"] for r in rows] == ["token", "role-session"]
        assert rows[1]["seconds_left"] == 3510

        assert eksauth("cache", "clear").stderr.strip() == "removed 1 cache entry"
        assert len(session_files(sts_env)) == 1
        cleared = eksauth("cache", "clear", "--include-aws-cli")
        assert cleared.stderr.strip() == "removed 1 cache entry"
        assert session_files(sts_env) == []
        assert eksauth("cache", "list").stdout == ""

    def test_an_unknown_session_shows_its_role(self, eksauth, sts_env) -> None:
        folder = aws_cli_cache(sts_env)
        folder.mkdir(parents=True)
        entry = {
            "Credentials": {
                "AccessKeyId": "ASIAX",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": "2026-11-23T10:30:00UTC",
            },
            "AssumedRoleUser": {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Ops/someone"},
        }
        (folder / "0123abcd.json").write_text(json.dumps(entry))
        mkfifo(folder / "fifo.json")
        (folder / "junk.json").write_text("{")
        rows = json.loads(eksauth("cache", "list", "--json").stdout)
        assert rows == [
            {
                "kind": "role-session",
                "profile": None,
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Ops",
                "session": "someone",
                "expiration": "2026-11-23T10:30:00Z",
                "time_left": "30m00s",
                "seconds_left": 1800,
            }
        ]
        assert eksauth("cache", "clear", "--include-aws-cli").exit_code == 0
        assert sorted(p.name for p in folder.iterdir()) == ["fifo.json", "junk.json"]

    def test_include_aws_cli_with_a_cluster_is_a_usage_error(self, eksauth) -> None:
        result = eksauth("cache", "clear", "--include-aws-cli", "--cluster-name", "demo")
        assert result.exit_code == 2
        assert "cannot be combined" in result.stderr


def test_botocore_and_eksauth_name_the_same_file(aws_env) -> None:
    """RoleSessionCache reads what botocore's own JSONFileCache writes under a key."""
    from botocore.utils import JSONFileCache

    folder = aws_cli_cache(aws_env)
    ours = rolesessions.RoleSessionCache(str(folder))
    value = {
        "Credentials": {
            "AccessKeyId": "ASIAX",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": "2026-11-23T10:30:00Z",
        }
    }
    ours["first"] = value
    assert WINDOWS or stat.S_IMODE(folder.stat().st_mode) == 0o700  # ours is private (modes)
    JSONFileCache(str(folder))["abc_def"] = value
    assert "abc_def" in ours
    assert ours["abc_def"] == value
    assert "missing" not in ours
    assert rolesessions.role_session_expiry(value) == calendar.timegm((2026, 11, 23, 10, 30, 0))


def test_a_fifo_planted_as_a_token_entry_never_stalls(sts_env, tmp_path) -> None:
    """eksauth's own cache opens entries non-blocking too (a FIFO used to stall the open)."""
    env = with_keys(os.environ)
    first = run_tool("eksauth", *TOKEN, "--output", "token", env=env)
    assert first.returncode == 0, first.stderr
    (entry,) = (tmp_path / "xdg-cache" / "eksauth").glob("token-*.json")
    entry.unlink()
    mkfifo(entry, 0o600)
    again = run_tool("eksauth", *TOKEN, "--output", "token", env=env, timeout=20)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("k8s-aws-v1.")
    assert entry.is_file()
