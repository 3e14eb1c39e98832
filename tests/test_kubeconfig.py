"""update-kubeconfig and migrate-kubeconfig: merging, idempotence, modes, errors, migration tables.

Commands run through the real entry point in-process; DescribeCluster goes to moto's EKS server
on loopback through AWS_ENDPOINT_URL_EKS. kubectl itself is driven in test_kubeconfig_e2e.py.
Command lines in the tables are strings split on spaces, so they read as they would be typed.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from eksauth.errors import KubeconfigError
from eksauth.kubeconfig import entries as kc_entries
from eksauth.kubeconfig import files
from eksauth.kubeconfig import migrate as kc_migrate
from eksauth.kubeconfig.command import INSTALL_HINT
from eksauth.kubeconfig.entries import Cluster, UserOptions
from tests.conftest import WINDOWS, symlink
from tests.standins.moto_eks import create_cluster

PEM = b"-----BEGIN CERTIFICATE-----\nMIIBstand-in\n-----END CERTIFICATE-----\n"
CA_DATA = base64.b64encode(PEM).decode()
ENDPOINT = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
REGION = ("--region", "eu-west-1")
OFFLINE = (*REGION, "--endpoint", ENDPOINT, "--ca-data", CA_DATA)
ROLE_ARN = "arn:aws:iam::111122223333:role/EksAdmin"
ARN = "arn:aws:eks:eu-west-1:123456789012:cluster/demo"
V1ALPHA1 = "client.authentication.k8s.io/v1alpha1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

EXPECTED = f"""\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CA_DATA}
    server: {ENDPOINT}
  name: demo.eu-west-1
contexts:
- context:
    cluster: demo.eu-west-1
    user: demo.eu-west-1
  name: demo.eu-west-1
current-context: demo.eu-west-1
kind: Config
preferences: {{}}
users:
- name: demo.eu-west-1
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - token
      - --cluster-name
      - demo
      - --region
      - eu-west-1
      command: eksauth
      installHint: {INSTALL_HINT}
      interactiveMode: IfAvailable
"""

# Another tool's entries, an unknown top-level key and preferences: all must survive.
FOREIGN: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "preferences": {"colors": True},
    "x-team-notes": {"owner": "platform"},
    "clusters": [{"name": "kind", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "kind", "user": {"token": "abc"}}],
    "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "kind"}}],
    "current-context": "kind",
}


def read(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def mode(path: Path) -> int:
    """The POSIX mode bits (asserted as `WINDOWS or mode(p) == ...`: Windows has none)."""
    return stat.S_IMODE(path.stat().st_mode)


def exec_of(config: dict[str, Any], user: str) -> dict[str, Any]:
    entry = next(u for u in config["users"] if u["name"] == user)
    result: dict[str, Any] = entry["user"]["exec"]
    return result


@pytest.fixture
def update(eksauth, tmp_path) -> Any:
    """`update-kubeconfig --name demo ARGS --kubeconfig tmp/config`; returns (result, path)."""
    config = tmp_path / "config"

    def run(*args: str, name: str = "demo") -> Any:
        return eksauth("update-kubeconfig", "--name", name, *args, "--kubeconfig", str(config))

    run.path = config  # type: ignore[attr-defined]
    return run


class TestUpdateOffline:
    def test_writes_the_entries_privately(self, eksauth, aws_env) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE)
        config = aws_env / ".kube" / "config"
        assert (result.exit_code, result.stdout) == (0, "")
        assert result.stderr == f"Added new context demo.eu-west-1 to {config}\n"
        assert config.read_text() == EXPECTED
        assert WINDOWS or mode(config) == 0o600
        assert WINDOWS or mode(config.parent) == 0o700
        assert [p.name for p in config.parent.iterdir()] == ["config"]  # no temp file left

    def test_first_path_of_kubeconfig_variable(self, eksauth, tmp_path, monkeypatch) -> None:
        first, second = tmp_path / "a" / "config", tmp_path / "b" / "config"
        monkeypatch.setenv("KUBECONFIG", f"{os.pathsep}{first}{os.pathsep}{second}")
        assert eksauth("update-kubeconfig", "--name", "demo", *OFFLINE).exit_code == 0
        assert first.read_text() == EXPECTED
        assert not second.exists()

    def test_rerun_is_idempotent(self, update) -> None:
        assert update(*OFFLINE).exit_code == 0
        again = update(*OFFLINE)
        assert again.stderr == f"Updated context demo.eu-west-1 in {update.path}\n"
        assert update.path.read_text() == EXPECTED

    def test_merge_keeps_everything_else(self, update) -> None:
        update.path.write_text(yaml.safe_dump(FOREIGN))
        update.path.chmod(0o644)
        result = update(*OFFLINE)
        assert result.exit_code == 0, result.stderr
        merged = read(update.path)
        assert merged["current-context"] == "demo.eu-west-1"
        for key in ("preferences", "x-team-notes", "apiVersion", "kind"):
            assert merged[key] == FOREIGN[key]
        for key in ("clusters", "users", "contexts"):
            assert merged[key][0] == FOREIGN[key][0]
            assert [e["name"] for e in merged[key]] == ["kind", "demo.eu-west-1"]
        assert (
            WINDOWS or mode(update.path) == 0o644
        )  # a rewritten file keeps its mode, as kubectl does

    def test_same_name_is_replaced_where_it_stands(self, update) -> None:
        users = [
            {"name": "demo.eu-west-1", "user": {"token": "old"}},
            {"name": "last", "user": {"token": "x"}},
        ]
        update.path.write_text(yaml.safe_dump({**FOREIGN, "users": users}))
        assert update(*OFFLINE).exit_code == 0
        written = read(update.path)["users"]
        assert [u["name"] for u in written] == ["demo.eu-west-1", "last"]
        assert written[0]["user"]["exec"]["command"] == "eksauth"

    def test_symlinked_file_is_written_through(self, eksauth, tmp_path) -> None:
        target, link = tmp_path / "dotfiles" / "kubeconfig", tmp_path / "config"
        target.parent.mkdir()
        target.write_text("")
        symlink(link, target)
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE, "--kubeconfig", str(link))
        assert result.exit_code == 0
        assert link.is_symlink()
        assert target.read_text() == EXPECTED

    def test_dry_run_prints_and_writes_nothing(self, eksauth, aws_env) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE, "--dry-run")
        assert (result.exit_code, result.stdout, result.stderr) == (0, EXPECTED, "")
        assert not (aws_env / ".kube").exists()

    def test_verbose_prints_the_entries_on_stderr(self, update) -> None:
        result = update(*OFFLINE, "--verbose")
        assert result.stdout == ""
        assert "name: demo.eu-west-1\n" in result.stderr
        assert "command: eksauth\n" in result.stderr

    @pytest.mark.parametrize(
        ("extra", "user", "context"),
        [
            ("--alias prod", "demo.eu-west-1", "prod"),
            # aws-cli: the context takes the user's name when only --user-alias is given.
            ("--user-alias me", "me", "me"),
            ("--alias prod --user-alias me", "me", "prod"),
        ],
    )
    def test_aliases(self, update, extra, user, context) -> None:
        update(*OFFLINE, *extra.split())
        written = read(update.path)
        assert written["clusters"][0]["name"] == "demo.eu-west-1"
        assert written["users"][0]["name"] == user
        assert written["contexts"] == [
            {"context": {"cluster": "demo.eu-west-1", "user": user}, "name": context}
        ]
        assert written["current-context"] == context

    def test_profile_role_and_session_options(self, update) -> None:
        extra = f"--profile dev --role-arn {ROLE_ARN} --role-session-name alice"
        result = update(*OFFLINE, *extra.split())
        assert result.exit_code == 0, result.stderr
        args = f"token --cluster-name demo --region eu-west-1 --role-arn {ROLE_ARN}"
        assert exec_of(read(update.path), "demo.eu-west-1") == {
            "apiVersion": V1BETA1,
            "args": [*args.split(), "--role-session-name", "alice"],
            "command": "eksauth",
            "env": [{"name": "AWS_PROFILE", "value": "dev"}],
            "installHint": INSTALL_HINT,
            "interactiveMode": "IfAvailable",
        }

    def test_profile_from_the_environment_as_aws_cli(self, update, monkeypatch) -> None:
        monkeypatch.setenv("AWS_PROFILE", "from-env")
        update(*OFFLINE)
        env = exec_of(read(update.path), "demo.eu-west-1")["env"]
        assert env == [{"name": "AWS_PROFILE", "value": "from-env"}]

    def test_region_from_environment_and_group_options(self, eksauth, update, monkeypatch) -> None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        args = ("--endpoint", ENDPOINT, "--ca-data", CA_DATA, "--kubeconfig", str(update.path))
        assert update("--endpoint", ENDPOINT, "--ca-data", CA_DATA).exit_code == 0
        group = ("--region", "us-east-2", "--profile", "g")
        assert eksauth(*group, "update-kubeconfig", "--name", "x", *args).exit_code == 0
        written = read(update.path)
        assert exec_of(written, "demo.eu-west-1")["args"][-1] == "eu-west-1"
        assert exec_of(written, "x.us-east-2")["args"][-1] == "us-east-2"
        assert exec_of(written, "x.us-east-2")["env"] == [{"name": "AWS_PROFILE", "value": "g"}]


class TestKubelet:
    def test_the_ca_goes_to_a_file_beside_the_kubeconfig(self, update, tmp_path) -> None:
        extra = f"--kubelet --role-arn {ROLE_ARN} --forward-session-name".split()
        result = update(*OFFLINE, *extra)
        assert result.exit_code == 0, result.stderr
        ca = tmp_path / "demo-ca.crt"
        assert ca.read_bytes() == PEM
        assert WINDOWS or mode(ca) == 0o600
        written = read(update.path)
        assert written["clusters"][0]["cluster"] == {
            "certificate-authority": str(ca),
            "server": ENDPOINT,
        }
        exec_ = exec_of(written, "demo.eu-west-1")
        assert exec_["interactiveMode"] == "Never"
        assert exec_["args"][-3:] == ["--role-arn", ROLE_ARN, "--forward-session-name"]

    def test_an_offline_ca_file_is_used_where_it_is(self, update, tmp_path) -> None:
        ca = tmp_path / "ca.crt"
        ca.write_bytes(PEM)
        result = update(*REGION, "--endpoint", ENDPOINT, "--ca-file", str(ca), "--kubelet")
        assert result.exit_code == 0, result.stderr
        assert read(update.path)["clusters"][0]["cluster"]["certificate-authority"] == str(ca)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "config", "home"]

    def test_a_ca_file_without_kubelet_is_embedded(self, update, tmp_path) -> None:
        ca = tmp_path / "ca.crt"
        ca.write_bytes(PEM)
        assert update(*REGION, "--endpoint", ENDPOINT, "--ca-file", str(ca)).exit_code == 0
        assert update.path.read_text() == EXPECTED


class TestUpdateErrors:
    @pytest.mark.parametrize(
        "text",
        [
            "clusters: [\n",
            "- just\n- a list\n",
            "clusters: {name: x}\n",
            "users: [name]\n",
            "current-context: [a]\n",
            "\t:bad\n",
        ],
    )
    def test_an_invalid_file_is_an_error_and_untouched(self, update, tmp_path, text) -> None:
        update.path.write_text(text)
        before = update.path.stat().st_mtime_ns
        result = update(*OFFLINE)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"eksauth: error: {update.path} is not ")
        assert result.stderr.endswith("(the file was not changed)\n")
        assert result.stderr.count("\n") == 1
        assert update.path.read_text() == text
        assert update.path.stat().st_mtime_ns == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "home"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (f"--endpoint http://x --ca-data {CA_DATA}", "is not an https URL"),
            (f"--endpoint {ENDPOINT}", "exactly one of --ca-data or --ca-file"),
            (f"--endpoint {ENDPOINT} --ca-data {CA_DATA} --ca-file x", "exactly one"),
            (f"--endpoint {ENDPOINT} --ca-data %%%", "--ca-data is not base64"),
            (f"--endpoint {ENDPOINT} --ca-data Zm9v", "--ca-data holds no PEM certificate"),
            (f"--endpoint {ENDPOINT} --ca-file /nonexistent", "cannot read --ca-file"),
            (f"--ca-data {CA_DATA}", "describe a cluster given by --endpoint"),
            (f"--ca-file {ENDPOINT}", "describe a cluster given by --endpoint"),
            (f"--region EU --endpoint {ENDPOINT} --ca-data {CA_DATA}", "invalid region name 'EU'"),
            (
                f"--endpoint {ENDPOINT} --ca-data {CA_DATA} --role-session-name a1",
                "need --role-arn",
            ),
            (f"--endpoint {ENDPOINT} --ca-data {CA_DATA} --role-arn admin", "not an IAM role ARN"),
        ],
    )
    def test_usage_errors(self, eksauth, aws_env, args, message) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *REGION, *args.split())
        assert result.exit_code == 2
        assert result.stderr.startswith("eksauth: error: ")
        assert message in result.stderr
        assert not (aws_env / ".kube").exists()

    def test_offline_needs_a_region(self, eksauth) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE[2:])
        assert result.exit_code == 2
        assert result.stderr == (
            "eksauth: error: --endpoint needs a region (give --region or set AWS_REGION)\n"
        )

    def test_name_is_required(self, eksauth) -> None:
        result = eksauth("update-kubeconfig", *OFFLINE)
        assert result.exit_code == 2
        assert "Missing option '--name'" in result.stderr

    def test_an_unwritable_place(self, tmp_path) -> None:
        (tmp_path / "blocker").write_text("")
        with pytest.raises(KubeconfigError, match=r"^cannot write .*/blocker/config: "):
            files.write_private(str(tmp_path / "blocker" / "config"), b"x")


class TestDescribeCluster:
    def test_the_described_values_land_in_the_file(self, update, moto_eks) -> None:
        described = create_cluster(moto_eks)
        result = update(*REGION)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == f"Added new context {ARN} to {update.path}\n"
        written = read(update.path)
        assert described["arn"] == ARN
        assert written["clusters"] == [
            {
                "cluster": {
                    "certificate-authority-data": described["certificateAuthority"]["data"],
                    "server": described["endpoint"],
                },
                "name": ARN,
            }
        ]
        assert written["contexts"] == [{"context": {"cluster": ARN, "user": ARN}, "name": ARN}]
        assert exec_of(written, ARN)["args"] == TOKEN.split()

    def test_the_region_comes_from_the_environment(self, update, moto_eks, monkeypatch) -> None:
        create_cluster(moto_eks)
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        result = update("--dry-run")
        assert result.exit_code == 0, result.stderr
        assert f"name: {ARN}\n" in result.stdout

    def test_an_unknown_cluster(self, update, moto_eks) -> None:
        result = update(*REGION, name="nope")
        assert result.exit_code == 1
        assert result.stderr == (
            "eksauth: error: eks:DescribeCluster nope failed: ResourceNotFoundException: No "
            "cluster found for name: nope. (check --name and --region (`aws eks list-clusters`))\n"
        )
        assert not update.path.exists()

    def test_no_region(self, update, moto_eks) -> None:
        result = update()
        assert result.exit_code == 2
        assert result.stderr == (
            "eksauth: error: no region to call eks:DescribeCluster in "
            "(give --region or set AWS_REGION)\n"
        )

    def test_an_unknown_profile(self, update) -> None:
        result = update(*REGION, "--profile", "ghost")
        assert result.exit_code == 1
        assert result.stderr.startswith("eksauth: error: the AWS profile 'ghost' was not found")

    def test_no_credentials(self, update, monkeypatch, moto_url) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", moto_url)
        result = update(*REGION)
        assert result.exit_code == 1
        assert result.stderr.startswith(
            "eksauth: error: no AWS credentials to call eks:DescribeCluster"
        )

    def test_an_invalid_file_fails_before_any_aws_call(self, update) -> None:
        update.path.write_text("[")
        result = update(*REGION)  # no credentials, no endpoint: a call would fail differently
        assert result.exit_code == 1
        assert "is not valid YAML" in result.stderr


class TestDescription:
    BASE: dict[str, Any] = {  # noqa: RUF012 -- a read-only table
        "arn": "arn:aws:eks:us-west-2:111122223333:cluster/edge",
        "endpoint": ENDPOINT,
        "status": "ACTIVE",
        "certificateAuthority": {"data": CA_DATA},
        "id": "0123abcd-4567",
    }

    def test_the_region_comes_from_the_arn(self) -> None:
        cluster = kc_entries.cluster_from_description(self.BASE, "edge")
        assert (cluster.region, cluster.entry_name) == ("us-west-2", self.BASE["arn"])
        assert cluster.cluster_id is None

    @pytest.mark.parametrize(
        ("outpost", "expected"),
        [
            ({"controlPlaneInstanceType": "m5.large"}, ["--cluster-id", "0123abcd-4567"]),
            ({"etcdInstanceType": "m5.large"}, ["--cluster-name", "edge"]),
        ],
    )
    def test_local_clusters_on_outposts_are_named_by_id(self, outpost, expected) -> None:
        description = {**self.BASE, "outpostConfig": outpost}
        cluster = kc_entries.cluster_from_description(description, "edge")
        assert kc_entries.exec_entry(cluster, UserOptions())["args"][1:3] == expected

    @pytest.mark.parametrize("status", ["CREATING", "DELETING", "FAILED"])
    def test_unusable_states(self, status) -> None:
        with pytest.raises(kc_entries.ClusterError) as raised:
            kc_entries.cluster_from_description({**self.BASE, "status": status}, "edge")
        assert raised.value.one_line() == f"cluster edge is {status} (retry once it is ACTIVE)"

    @pytest.mark.parametrize("status", [None, "", "absent"])
    def test_no_status_is_said_as_such(self, status) -> None:
        description = {**self.BASE, "status": status}
        if status == "absent":
            del description["status"]
        with pytest.raises(kc_entries.ClusterError) as raised:
            kc_entries.cluster_from_description(description, "edge")
        assert raised.value.one_line() == (
            "cluster edge has no status in EKS's answer (retry once it is ACTIVE)"
        )

    def test_updating_is_usable(self) -> None:
        assert kc_entries.cluster_from_description({**self.BASE, "status": "UPDATING"}, "edge")


class TestMerge:
    def test_add_then_update(self) -> None:
        cluster = Cluster("demo", "eu-west-1", ARN, ENDPOINT, CA_DATA)
        content = files.new_config()
        entries = kc_entries.build_entries(cluster, UserOptions())
        assert kc_entries.merge(content, entries) is False
        assert kc_entries.merge(content, entries) is True
        assert [c["name"] for c in content["clusters"]] == [ARN]

    def test_null_lists_are_filled(self) -> None:
        content: dict[str, Any] = {"clusters": None, "users": None, "contexts": None}
        cluster = Cluster("d", "r", "n", ENDPOINT, CA_DATA)
        kc_entries.merge(content, kc_entries.build_entries(cluster, UserOptions()))
        assert [len(content[k]) for k in ("clusters", "users", "contexts")] == [1, 1, 1]


# -- migration -----------------------------------------------------------------------------------

AWS_CLI = "--region eu-west-1 eks get-token --cluster-name demo --output json"
TOKEN = "token --cluster-name demo --region eu-west-1"
DEMO = "token --cluster-name demo"
R = ROLE_ARN
TO_TOKEN = "eks get-token -> eksauth token"
AUTHENTICATOR = "aws-iam-authenticator token -> eksauth token"

# (command, its args, eksauth's args, the note or None to skip checking it)
MIGRATED = [
    # aws-cli's update-kubeconfig layout
    ("aws", AWS_CLI, TOKEN, f"aws {TO_TOKEN} (dropped --output)"),
    # aws global options anywhere, in either spelling
    ("aws", "eks get-token --cluster-name demo --region eu-west-1", TOKEN, f"aws {TO_TOKEN}"),
    ("aws", "--output json eks --region eu-west-1 get-token --cluster-name demo", TOKEN, None),
    ("aws", "--region=eu-west-1 eks get-token --cluster-name=demo", TOKEN, None),
    ("aws", f"{AWS_CLI} --output=yaml", TOKEN, f"aws {TO_TOKEN} (dropped --output)"),
    ("/usr/local/bin/aws", "eks get-token --cluster-name demo", DEMO, None),
    ("aws.exe", "eks get-token --cluster-name demo", DEMO, None),
    (
        "aws",
        "--profile dev --debug --no-cli-pager --color off eks get-token --cluster-name demo "
        "--endpoint-url https://x --no-verify-ssl",
        f"{DEMO} --profile dev",
        f"aws {TO_TOKEN} "
        "(dropped --debug, --no-cli-pager, --color, --endpoint-url, --no-verify-ssl)",
    ),
    # --role (what aws-cli writes) and --role-arn
    ("aws", f"{AWS_CLI} --role {R}", f"{TOKEN} --role-arn {R}", None),
    ("aws", f"eks get-token --role-arn {R} --cluster-name demo", f"{DEMO} --role-arn {R}", None),
    # local clusters on Outposts
    (
        "aws",
        "--region us-west-2 eks get-token --cluster-id 0123-abcd",
        "token --cluster-id 0123-abcd --region us-west-2",
        None,
    ),
    # a kubeconfig whose `command: aws` was swapped for eksauth: normalised too
    ("eksauth", AWS_CLI, TOKEN, f"eksauth {TO_TOKEN} (dropped --output)"),
    # aws-iam-authenticator, every spelling of -i, -r and --region
    ("aws-iam-authenticator", "token -i demo --region eu-west-1", TOKEN, AUTHENTICATOR),
    (
        "aws-iam-authenticator",
        f"token -i demo -r {R} --region eu-west-1",
        f"{TOKEN} --role-arn {R}",
        None,
    ),
    (
        "aws-iam-authenticator",
        f"-idemo token --role={R} --region=eu-west-1",
        f"{TOKEN} --role-arn {R}",
        None,
    ),
    (
        "aws-iam-authenticator",
        f"token -i=demo --role {R} --cache --region eu-west-1",
        f"{TOKEN} --role-arn {R}",
        f"{AUTHENTICATOR} (dropped --cache)",
    ),
    (
        "/usr/bin/aws-iam-authenticator",
        f"--region eu-west-1 token --cluster-id=demo -r {R} -s alice -e ext-1",
        f"{TOKEN} --role-arn {R} --role-session-name alice --external-id ext-1",
        None,
    ),
    (
        "aws-iam-authenticator",
        f"token -i demo -r {R} --forward-session-name --region eu-west-1",
        f"{TOKEN} --role-arn {R} --forward-session-name",
        None,
    ),
    ("heptio-authenticator-aws", "token -i demo --region eu-west-1", TOKEN, None),
]


class TestMigrateExec:
    @pytest.mark.parametrize(("command", "args", "expected", "note"), MIGRATED)
    def test_migrated(self, command, args, expected, note) -> None:
        exec_ = {"apiVersion": V1BETA1, "command": command, "args": args.split()}
        got = kc_migrate.migrate_exec(exec_)
        assert exec_ == {
            "apiVersion": V1BETA1,
            "command": "eksauth",
            "args": expected.split(),
            "installHint": INSTALL_HINT,
        }
        if note is not None:
            assert got == note
        assert kc_migrate.migrate_exec(exec_) is None  # idempotent

    @pytest.mark.parametrize(
        "names",
        [["AWS_PROFILE"], ["AWS_STS_REGIONAL_ENDPOINTS"], ["AWS_PROFILE", "AWS_DEFAULT_REGION"]],
    )
    def test_env_is_kept(self, names) -> None:
        env = [{"name": name, "value": "x"} for name in names]
        exec_ = {"command": "aws", "args": AWS_CLI.split(), "env": env}
        kc_migrate.migrate_exec(exec_)
        assert exec_ == {
            "command": "eksauth",
            "args": TOKEN.split(),
            "env": env,
            "installHint": INSTALL_HINT,
        }

    def test_a_refused_exec_is_not_touched(self) -> None:
        args = ["--ca-bundle", "/etc/ca.pem", "eks", "get-token"]  # no cluster: refused
        exec_ = {"command": "aws", "args": list(args)}
        migration = kc_migrate.migrate({"users": [{"name": "u", "user": {"exec": exec_}}]})
        assert migration.skipped == ["user u: give exactly one of --cluster-name or --cluster-id"]
        assert migration.content["users"][0]["user"]["exec"] == {"command": "aws", "args": args}

    def test_ca_bundle_becomes_the_variable(self) -> None:
        exec_ = {"command": "aws", "args": ["--ca-bundle", "/etc/ca.pem", *AWS_CLI.split()]}
        kc_migrate.migrate_exec(exec_)
        assert exec_["env"] == [{"name": "AWS_CA_BUNDLE", "value": "/etc/ca.pem"}]
        assert exec_["args"] == TOKEN.split()

    def test_authenticator_variables_become_options(self) -> None:
        env = [
            {"name": "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID", "value": "demo"},
            {"name": "DEFAULT_ROLE", "value": ROLE_ARN},
            {"name": "AWS_REGION", "value": "eu-west-1"},  # read at run time by both
        ]
        exec_ = {"command": "aws-iam-authenticator", "args": ["token"], "env": env}
        kc_migrate.migrate_exec(exec_)
        assert exec_["args"] == f"{DEMO} --role-arn {R}".split()

    @pytest.mark.parametrize(
        ("command", "args"),
        [
            ("aws", AWS_CLI),
            ("aws-iam-authenticator", "token -i demo --region eu-west-1"),
            ("eksauth", AWS_CLI),
        ],
    )
    def test_v1alpha1_becomes_v1beta1(self, command, args) -> None:
        exec_ = {"apiVersion": V1ALPHA1, "command": command, "args": args.split()}
        assert str(kc_migrate.migrate_exec(exec_)).endswith("; apiVersion v1alpha1 -> v1beta1")
        assert exec_["apiVersion"] == V1BETA1

    def test_eksauth_token_only_loses_v1alpha1(self) -> None:
        exec_ = {"apiVersion": V1ALPHA1, "command": "eksauth", "args": TOKEN.split()}
        assert kc_migrate.migrate_exec(exec_) == "apiVersion v1alpha1 -> v1beta1"
        assert exec_ == {"apiVersion": V1BETA1, "command": "eksauth", "args": TOKEN.split()}

    @pytest.mark.parametrize(
        ("command", "args"),
        [
            ("gke-gcloud-auth-plugin", ""),
            ("kubelogin", "get-token --login azurecli"),
            ("aws", "sso login"),
            ("aws", "eks describe-cluster --name demo"),
            ("aws-iam-authenticator", "verify -i demo"),
        ],
    )
    def test_other_plugins_are_untouched(self, command, args) -> None:
        exec_ = {"apiVersion": V1ALPHA1, "command": command, "args": args.split()}
        assert kc_migrate.migrate_exec(exec_) is None
        assert exec_ == {"apiVersion": V1ALPHA1, "command": command, "args": args.split()}

    @pytest.mark.parametrize(
        ("command", "args", "reason"),
        [
            ("aws", f"{AWS_CLI} --no-sign-request", "--no-sign-request has no eksauth equivalent"),
            ("aws", f"{AWS_CLI} --cli-input-json {{}}", "--cli-input-json has no"),
            ("aws", f"{AWS_CLI} --query status.token", "--query has no eksauth equivalent"),
            ("aws", f"{AWS_CLI} --output text", "--output text prints no ExecCredential"),
            ("aws", "eks get-token --output json", "exactly one of --cluster-name or --cluster-id"),
            ("aws", "eks get-token --cluster-name", "--cluster-name has no value"),
            ("aws", "eks get-token x --cluster-name d", "unexpected arguments 'eks get-token x'"),
            ("aws", f"{AWS_CLI} --role admin", "'admin' is not an IAM role ARN"),
            ("aws-iam-authenticator", "token -i demo --token-only", "--token-only has no"),
            ("aws-iam-authenticator", "token -i demo -c conf.yaml", "-c has no"),
            ("aws-iam-authenticator", "token", "exactly one of --cluster-name"),
        ],
    )
    def test_the_unmigratable_is_left_with_the_reason(self, command, args, reason) -> None:
        user = {"exec": {"command": command, "args": args.split()}}
        content = {"users": [{"name": "u", "user": user}]}
        migration = kc_migrate.migrate(content)
        assert migration.changed == []
        assert len(migration.skipped) == 1
        assert migration.skipped[0].startswith("user u: ")
        assert reason in migration.skipped[0]
        assert migration.content == content


def aws_cli_config(api_version: str = V1BETA1) -> dict[str, Any]:
    """What `aws eks update-kubeconfig --name demo --profile dev` writes, beside other entries."""
    exec_ = {
        "apiVersion": api_version,
        "args": AWS_CLI.split(),
        "command": "aws",
        "env": [{"name": "AWS_PROFILE", "value": "dev"}],
    }
    return {
        **FOREIGN,
        "clusters": [*FOREIGN["clusters"], {"name": ARN, "cluster": {"server": ENDPOINT}}],
        "users": [*FOREIGN["users"], {"name": ARN, "user": {"exec": exec_}}, {"name": "odd"}],
        "contexts": [*FOREIGN["contexts"], {"name": ARN, "context": {"cluster": ARN, "user": ARN}}],
    }


@pytest.fixture
def migrate(eksauth, tmp_path) -> Any:
    """`migrate-kubeconfig --kubeconfig tmp/config ARGS`."""
    config = tmp_path / "config"

    def run(*args: str) -> Any:
        return eksauth("migrate-kubeconfig", "--kubeconfig", str(config), *args)

    run.path = config  # type: ignore[attr-defined]
    run.backup = tmp_path / "config.eksauth-backup"  # type: ignore[attr-defined]
    return run


class TestMigrateCommand:
    def test_migrates_keeps_a_backup_and_the_rest(self, migrate) -> None:
        original = yaml.safe_dump(aws_cli_config(V1ALPHA1))
        migrate.path.write_text(original)
        migrate.path.chmod(0o640)
        result = migrate()
        assert (result.exit_code, result.stdout) == (0, "")
        assert result.stderr == (
            f"migrated user {ARN}: aws {TO_TOKEN} (dropped --output); "
            "apiVersion v1alpha1 -> v1beta1\n"
            f"wrote {migrate.path} (the previous file is {migrate.backup})\n"
        )
        assert migrate.backup.read_text() == original
        assert WINDOWS or mode(migrate.backup) == 0o600  # a new file: private
        assert (
            WINDOWS or mode(migrate.path) == 0o640
        )  # a rewritten file keeps its mode, as kubectl does
        expected = aws_cli_config()
        expected["users"][1]["user"]["exec"].update(
            command="eksauth", args=TOKEN.split(), installHint=INSTALL_HINT
        )
        assert read(migrate.path) == expected

    def test_a_rerun_changes_nothing(self, migrate) -> None:
        migrate.path.write_text(yaml.safe_dump(aws_cli_config()))
        migrate()
        migrated, backup = migrate.path.read_bytes(), migrate.backup.read_bytes()
        again = migrate()
        assert (again.exit_code, again.stderr) == (0, f"nothing to migrate in {migrate.path}\n")
        assert migrate.path.read_bytes() == migrated
        assert migrate.backup.read_bytes() == backup

    def test_dry_run(self, eksauth, migrate, tmp_path, monkeypatch) -> None:
        original = yaml.safe_dump(aws_cli_config())
        migrate.path.write_text(original)
        monkeypatch.setenv("KUBECONFIG", str(migrate.path))
        result = eksauth("migrate-kubeconfig", "--dry-run")
        assert result.exit_code == 0
        assert result.stderr.startswith(f"would migrate user {ARN}: ")
        assert exec_of(yaml.safe_load(result.stdout), ARN)["args"] == TOKEN.split()
        assert migrate.path.read_text() == original
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "home"]

    def test_it_warns_about_what_it_leaves(self, migrate) -> None:
        content = aws_cli_config()
        content["users"][1]["user"]["exec"]["args"].append("--no-sign-request")
        migrate.path.write_text(yaml.safe_dump(content))
        result = migrate()
        assert result.stderr == (
            f"eksauth: warning: left user {ARN}: --no-sign-request has no eksauth equivalent\n"
            f"nothing to migrate in {migrate.path}\n"
        )
        assert not migrate.backup.exists()

    def test_line_endings_survive_in_the_backup(self, migrate) -> None:
        original = yaml.safe_dump(aws_cli_config()).replace("\n", "\r\n").encode()
        migrate.path.write_bytes(original)
        assert migrate().exit_code == 0
        assert migrate.backup.read_bytes() == original

    def test_a_missing_file(self, migrate) -> None:
        result = migrate()
        assert result.exit_code == 1
        assert result.stderr == (
            f"eksauth: error: no kubeconfig at {migrate.path} (give --kubeconfig FILE)\n"
        )

    def test_an_invalid_file_is_untouched(self, migrate) -> None:
        migrate.path.write_text("users: {a: b}\n")
        result = migrate()
        assert result.exit_code == 1
        assert "users is a dict, not a list" in result.stderr
        assert migrate.path.read_text() == "users: {a: b}\n"
        assert not migrate.backup.exists()
