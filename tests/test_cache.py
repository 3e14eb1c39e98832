"""The token cache: freshness at a pinned clock, hostile files, unusable folders, keys."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from eksauth.cache import default_cache_dir
from eksauth.lookup import token_key
from eksauth.request import validated_request
from eksauth.token import bearer
from tests.conftest import (
    ACCESS_KEY,
    FROZEN,
    SECRET_KEY,
    Result,
    cache_dir,
    not_on_windows,
    posix_modes,
    posix_nofollow,
    tool,
)
from tests.hitprobe import run_hit

ARGS = ("token", "--cluster-name", "demo", "--region", "eu-west-1", "--output", "token")


def signed_at(tok: str) -> str:
    return bearer.decode(tok.strip()).split("X-Amz-Date=")[1][:16]


def entries(tmp_path: Path) -> list[Path]:
    return sorted(cache_dir(tmp_path).glob("token-*.json"))


@pytest.mark.usefixtures("static_keys")
class TestFreshness:
    def test_reuse_within_the_window_then_renew(self, eksauth, tmp_path: Path) -> None:
        first: Result = eksauth(*ARGS)
        assert first.exit_code == 0
        assert signed_at(first.stdout) == "20261123T100000Z"
        assert eksauth(*ARGS, now=FROZEN + 5 * 60).stdout == first.stdout
        assert eksauth(*ARGS, now=FROZEN + 13 * 60).stdout == first.stdout
        renewed = eksauth(*ARGS, now=FROZEN + 13 * 60 + 30)
        assert signed_at(renewed.stdout) == "20261123T101330Z"
        assert eksauth(*ARGS, now=FROZEN + 20 * 60).stdout == renewed.stdout
        assert len(entries(tmp_path)) == 1

    def test_cached_expiry_is_printed_unchanged(self, eksauth) -> None:
        first = eksauth("token", "-c", "demo", "--region", "eu-west-1")
        later = eksauth("token", "-c", "demo", "--region", "eu-west-1", now=FROZEN + 300)
        assert json.loads(later.stdout) == json.loads(first.stdout)
        assert json.loads(later.stdout)["status"]["expirationTimestamp"] == "2026-11-23T10:14:00Z"

    def test_api_version_follows_the_current_exec_info(self, eksauth, monkeypatch) -> None:
        eksauth("token", "-c", "demo", "--region", "eu-west-1")
        monkeypatch.setenv(
            "KUBERNETES_EXEC_INFO", '{"apiVersion":"client.authentication.k8s.io/v1"}'
        )
        hit = eksauth("token", "-c", "demo", "--region", "eu-west-1", now=FROZEN + 60)
        assert json.loads(hit.stdout)["apiVersion"] == "client.authentication.k8s.io/v1"

    def test_no_cache_and_refresh(self, eksauth, tmp_path: Path) -> None:
        eksauth(*ARGS, "--no-cache")
        assert entries(tmp_path) == []
        first = eksauth(*ARGS)
        refreshed = eksauth(*ARGS, "--refresh", now=FROZEN + 120)
        assert signed_at(refreshed.stdout) == "20261123T100200Z"
        assert eksauth(*ARGS, now=FROZEN + 180).stdout == refreshed.stdout != first.stdout

    def test_different_clusters_do_not_share(self, eksauth) -> None:
        a = eksauth(*ARGS)
        b = eksauth("token", "-c", "other", "--region", "eu-west-1", "--output", "token")
        assert a.stdout != b.stdout


@pytest.mark.usefixtures("static_keys")
class TestCredentialChanges:
    def test_new_environment_key_signs_on_the_next_call(self, eksauth, monkeypatch) -> None:
        first = eksauth(*ARGS)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAI44QH8DHBEXAMPLE")
        second = eksauth(*ARGS, now=FROZEN + 1)
        assert "AKIAI44QH8DHBEXAMPLE" in bearer.decode(second.stdout.strip())
        assert ACCESS_KEY in bearer.decode(first.stdout.strip())

    def test_rewritten_credentials_file_signs_on_the_next_call(
        self, eksauth, monkeypatch, aws_env: Path
    ) -> None:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        creds = aws_env / ".aws" / "credentials"
        creds.write_text(
            f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        first = eksauth(*ARGS)
        creds.write_text(
            "[default]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\n"
            "aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"
        )
        second = eksauth(*ARGS, now=FROZEN + 1)
        assert ACCESS_KEY in bearer.decode(first.stdout.strip())
        assert "AKIAI44QH8DHBEXAMPLE" in bearer.decode(second.stdout.strip())

    def test_secrets_never_reach_the_cache(self, eksauth, tmp_path: Path) -> None:
        result = eksauth(*ARGS)
        assert (result.exit_code, result.stderr) == (0, "")
        (entry,) = entries(tmp_path)  # the token was stored: there is something to check
        assert result.stdout.strip() in entry.read_text()
        for path in cache_dir(tmp_path).iterdir():
            assert SECRET_KEY not in path.read_text()


@pytest.mark.usefixtures("static_keys")
class TestHostileFiles:
    def only_entry(self, eksauth, tmp_path: Path) -> tuple[Path, str]:
        first = eksauth(*ARGS)
        (entry,) = entries(tmp_path)
        return entry, first.stdout

    @pytest.mark.parametrize(
        "damage",
        [
            b"",
            b"{not json",
            b'{"format": 1}',
            b'{"format": 1, "token": "nope", "expiration": "x", "expires_at": 9999999999}',
            b"[]",
        ],
        ids=["empty", "corrupt", "incomplete", "foreign-token", "not-an-object"],
    )
    def test_damaged_entry_is_a_miss_and_is_replaced(self, eksauth, tmp_path, damage) -> None:
        entry, _ = self.only_entry(eksauth, tmp_path)
        entry.write_bytes(damage)
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert again.exit_code == 0
        assert signed_at(again.stdout) == "20261123T100100Z"
        assert json.loads(entry.read_text())["token"] == again.stdout.strip()

    def test_truncated_entry(self, eksauth, tmp_path) -> None:
        entry, _ = self.only_entry(eksauth, tmp_path)
        entry.write_bytes(entry.read_bytes()[:40])
        assert signed_at(eksauth(*ARGS, now=FROZEN + 60).stdout) == "20261123T100100Z"

    @posix_modes
    def test_loosened_entry_is_not_trusted(self, eksauth, tmp_path) -> None:
        entry, _ = self.only_entry(eksauth, tmp_path)
        entry.chmod(0o644)
        assert signed_at(eksauth(*ARGS, now=FROZEN + 60).stdout) == "20261123T100100Z"
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600

    @posix_nofollow
    def test_symlinked_entry_is_never_followed(self, eksauth, tmp_path) -> None:
        entry, first = self.only_entry(eksauth, tmp_path)
        planted = tmp_path / "planted.json"
        planted.write_bytes(entry.read_bytes())
        planted.chmod(0o600)
        entry.unlink()
        entry.symlink_to(planted)
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert signed_at(again.stdout) == "20261123T100100Z"
        assert not entry.is_symlink()
        assert json.loads(planted.read_text())["token"] == first.strip()

    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
    def test_foreign_owned_entry_is_not_trusted(self, eksauth, tmp_path) -> None:
        entry, _ = self.only_entry(eksauth, tmp_path)
        os.chown(entry, 12345, 12345)
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert signed_at(again.stdout) == "20261123T100100Z"
        assert entry.stat().st_uid == os.geteuid()

    @posix_modes
    def test_modes_whatever_the_umask(self, eksauth, tmp_path) -> None:
        old = os.umask(0)
        try:
            eksauth(*ARGS)
        finally:
            os.umask(old)
        folder = cache_dir(tmp_path)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name

    @posix_modes
    def test_loose_folder_of_ours_is_tightened(self, eksauth, tmp_path) -> None:
        folder = cache_dir(tmp_path)
        folder.mkdir(parents=True, mode=0o755)
        folder.chmod(0o755)
        eksauth(*ARGS)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    def test_nothing_is_written_outside_the_folder(self, eksauth, tmp_path) -> None:
        before = set(tmp_path.rglob("*"))
        eksauth(*ARGS)
        created = set(tmp_path.rglob("*")) - before
        folder = cache_dir(tmp_path)
        assert created
        assert all(p == folder or folder in p.parents or p in folder.parents for p in created)


@pytest.mark.usefixtures("static_keys")
class TestUnusableFolders:
    @pytest.mark.parametrize(
        "where",
        [
            "under-a-file",
            pytest.param(
                "in-proc",
                marks=not_on_windows("no /proc: /proc/x is C:\\proc\\x, which can be made"),
            ),
        ],
    )
    def test_token_is_still_printed_with_one_warning(self, eksauth, tmp_path, where) -> None:
        if where == "under-a-file":
            blocker = tmp_path / "a-file"
            blocker.write_text("")
            folder = str(blocker / "eksauth")
        else:
            folder = "/proc/eksauth-cannot-exist"
        result = eksauth(*ARGS, "--cache-dir", folder)
        assert result.exit_code == 0
        assert result.stdout.startswith("k8s-aws-v1.")
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("eksauth: warning: ")

    def test_env_override(self, eksauth, tmp_path, monkeypatch) -> None:
        monkeypatch.setenv("EKSAUTH_CACHE_DIR", str(tmp_path / "elsewhere"))
        eksauth(*ARGS)
        assert list((tmp_path / "elsewhere").glob("token-*.json"))


# The platformdirs release that first follows each rule eksauth keeps (the XDG spec): a
# relative XDG_CACHE_HOME is ignored from 4.11.8, a relative HOME counts as unset from 4.14.0.
# Older ones use the relative path as is, and the newest a Python 3.9 can install is 4.4.0.
# eksauth does not import platformdirs on Linux or macOS, so its version changes nothing there.
PLATFORMDIRS = tuple(int(part) for part in re.findall(r"\d+", platformdirs.__version__)[:3])
# XDG_CACHE_HOME also wins on macOS from this platformdirs release (eksauth follows it there).
MACOS_XDG = (4, 6, 0)


def _platformdirs_class(platform: str) -> type[platformdirs.PlatformDirsABC]:
    if platform == "win32":
        from platformdirs.windows import Windows

        return Windows
    if platform == "darwin":
        from platformdirs.macos import MacOS

        return MacOS
    from platformdirs.unix import Unix

    return Unix


class TestCacheFolder:
    @pytest.mark.parametrize(
        ("env", "since"),
        [
            ({"HOME": "/home/someone"}, None),
            ({"HOME": "/home/someone", "XDG_CACHE_HOME": "/srv/xdg"}, None),
            ({"HOME": "/home/someone", "XDG_CACHE_HOME": "relative/xdg"}, (4, 11, 8)),
            ({"HOME": "/home/someone", "XDG_CACHE_HOME": ""}, None),
            ({"HOME": "relative-home"}, (4, 14, 0)),
            ({}, None),
        ],
        ids=["home", "xdg", "relative-xdg", "empty-xdg", "relative-home", "no-home"],
    )
    @pytest.mark.parametrize("platform", ["linux", "darwin"])
    def test_matches_platformdirs(
        self,
        platform: str,
        env: dict[str, str],
        since: tuple[int, int, int] | None,
        monkeypatch,
    ) -> None:
        """platformdirs' class for `platform`, asked here whatever this machine is."""
        if platform == "darwin" and env.get("XDG_CACHE_HOME"):
            since = max(since or (0, 0, 0), MACOS_XDG)
        if since is not None and since > PLATFORMDIRS:
            pytest.skip(
                f"platformdirs {platformdirs.__version__} predates this rule"
                f" ({'.'.join(map(str, since))}); test_relative_paths_count_as_unset pins it"
            )
        if sys.platform == "win32":
            pytest.skip(
                "Windows: platformdirs' POSIX classes find ~ with this machine's os.path, which"
                " reads USERPROFILE, not HOME (eksauth's own rule is pinned in test_portable.py)"
            )
        for name in ("HOME", "XDG_CACHE_HOME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        theirs = _platformdirs_class(platform)("eksauth").user_cache_dir
        assert default_cache_dir(os.environ, platform) == theirs

    def test_windows_is_localappdata_eksauth_cache(self, tmp_path: Path, monkeypatch) -> None:
        """platformdirs' Windows rule, asked on any machine through its folder override."""
        if PLATFORMDIRS < (4, 8, 0):
            pytest.skip(
                f"platformdirs {platformdirs.__version__} has no WIN_PD_OVERRIDE_LOCAL_APPDATA"
                " to ask it off Windows"
            )
        local = "C:\\Users\\me\\AppData\\Local"
        monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", local)
        if sys.platform == "win32":
            local = os.path.normpath(local)
        theirs = _platformdirs_class("win32")("eksauth", appauthor=False).user_cache_dir
        assert default_cache_dir({}, "win32") == theirs
        assert theirs.replace("/", "\\") == local + "\\eksauth\\Cache"

    def test_relative_paths_count_as_unset(self) -> None:
        home = {"HOME": "/home/someone"}
        assert default_cache_dir({**home, "XDG_CACHE_HOME": "relative/xdg"}) == (
            default_cache_dir(home)
        )
        assert default_cache_dir({"HOME": "relative-home"}) == default_cache_dir({})


class TestKeys:
    def test_key_changes_with_every_identity_input(self, aws_env: Path) -> None:
        base = validated_request(cluster_name="demo", cluster_id=None)
        env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "HOME": str(aws_env)}
        keys = {
            token_key(base, env),
            token_key(validated_request(cluster_name="demo2", cluster_id=None), env),
            token_key(
                validated_request(cluster_name="demo", cluster_id=None, region="eu-west-1"), env
            ),
            token_key(validated_request(cluster_name="demo", cluster_id=None, profile="p"), env),
            token_key(
                validated_request(
                    cluster_name="demo",
                    cluster_id=None,
                    role_arn="arn:aws:iam::111122223333:role/r",
                ),
                env,
            ),
            token_key(
                validated_request(
                    cluster_name="demo", cluster_id=None, sts_url="http://127.0.0.1:1"
                ),
                env,
            ),
            token_key(base, {**env, "AWS_ACCESS_KEY_ID": "AKIAOTHER"}),
            token_key(base, {**env, "AWS_PROFILE": "x"}),
            token_key(base, {**env, "AWS_ROLE_ARN": "arn:aws:iam::1:role/x"}),
            token_key(base, {**env, "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://x"}),
            token_key(base, {**env, "AWS_USE_FIPS_ENDPOINT": "true"}),
        }
        assert len(keys) == 11

    def test_key_never_contains_the_secret(self) -> None:
        request = validated_request(cluster_name="demo", cluster_id=None)
        key = token_key(request, {"AWS_SECRET_ACCESS_KEY": SECRET_KEY})
        assert SECRET_KEY not in key
        assert len(key) == 40


class TestCacheCommands:
    @pytest.mark.usefixtures("static_keys")
    def test_list_clear_path(self, eksauth, tmp_path) -> None:
        eksauth(*ARGS)
        eksauth("token", "-c", "other", "--region", "us-west-2")
        listing = eksauth("cache", "list", now=FROZEN + 90)
        assert listing.exit_code == 0
        lines = listing.stdout.splitlines()
        assert lines[0].split() == [
            "CLUSTER",
            "REGION",
            "PROFILE",
            "ROLE_ARN",
            "EXPIRATION",
            "TIME_LEFT",
        ]
        assert lines[1].split() == ["demo", "eu-west-1", "-", "-", "2026-11-23T10:14:00Z", "12m30s"]
        assert "k8s-aws-v1" not in listing.stdout
        rows = json.loads(eksauth("cache", "list", "--json", now=FROZEN + 90).stdout)
        assert [r["cluster"] for r in rows] == ["demo", "other"]
        assert rows[1]["region"] == "us-west-2"
        assert rows[1]["seconds_left"] == 750

        path = eksauth("cache", "path")
        assert path.stdout.strip() == str(cache_dir(tmp_path))

        cleared = eksauth("cache", "clear", "--cluster-name", "demo")
        assert cleared.stderr.strip() == "removed 1 cache entry"
        assert [r["cluster"] for r in json.loads(eksauth("cache", "list", "--json").stdout)] == [
            "other"
        ]
        assert eksauth("cache", "clear").stderr.strip() == "removed 1 cache entry"
        assert eksauth("cache", "list").stdout == ""

    def test_list_of_an_empty_cache(self, eksauth) -> None:
        result = eksauth("cache", "list")
        assert (result.exit_code, result.stdout) == (0, "")


def hit_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    return env


AWS_ARGV = ("--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo")


@pytest.mark.parametrize(
    ("args", "module"),
    [(ARGS, False), (ARGS, True), ((*AWS_ARGV, "--output", "token", "-v"), False)],
    ids=["console-script", "python-m", "aws-argv-verbose"],
)
def test_a_cache_hit_loads_only_the_hit_unit(args: tuple[str, ...], module: bool, tmp_path):
    env = hit_env(tmp_path)
    first = [sys.executable, "-m", "eksauth"] if module else [tool("eksauth")]
    miss = subprocess.run([*first, *args], env=env, capture_output=True, text=True, check=True)
    hit = run_hit(args, env, tmp_path, module=module)
    assert hit.stdout == miss.stdout
    verbose = "eksauth: token served from the cache, expires "
    assert hit.stderr.startswith(verbose) if "-v" in args else hit.stderr == ""


def test_a_folder_made_after_the_first_look_is_read_by_the_same_run(tmp_path: Path) -> None:
    """Many kubectl processes start before the cache folder exists: the one that signs creates
    it, and the others, which looked (and missed) before that, must read its entry once they
    hold the lock, or each of them signs (and assumes the role) again."""
    from eksauth.cache import Cache

    folder = str(tmp_path / "fresh" / "eksauth")
    waiting = Cache(folder, warn=lambda _: None)
    assert waiting.load("token-x") is None  # the folder is not there yet
    assert Cache(folder, warn=lambda _: None).store("token-x", {"token": "t"})
    assert waiting.load("token-x") == {"token": "t", "format": 1}
