"""update-kubeconfig --shared-user and migrate-kubeconfig --shared-user, offline: the entries
written, the shared user left alone once made, and every case migration leaves as it was."""

from __future__ import annotations

import base64

import pytest
import yaml

from eksauth.kubeconfig.command import INSTALL_HINT

EXT = "client.authentication.k8s.io/exec"
CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
OFFLINE = ("--region", "eu-west-1", "--endpoint", "https://prod.example", "--ca-data", CA)


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    path = tmp_path / "config"
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


class TestUpdate:
    def test_a_per_cluster_update_keeps_the_clusters_extension(self, eksauth, kubeconfig) -> None:
        """The shared context of a cluster keeps working after a per-cluster entry for it."""
        assert (
            eksauth("update-kubeconfig", "--name", "prod", *OFFLINE, "--shared-user").exit_code == 0
        )
        again = eksauth(
            "update-kubeconfig", "--name", "prod", *OFFLINE,
            "--alias", "prod-admin", "--user-alias", "prod-admin",
            "--role-arn", "arn:aws:iam::111122223333:role/Admin",
        )  # fmt: skip
        assert again.exit_code == 0, again.stderr
        (cluster,) = yaml.safe_load(kubeconfig.read_text())["clusters"]
        (extension,) = cluster["cluster"]["extensions"]
        assert extension["extension"] == {"clusterName": "prod", "region": "eu-west-1"}

    def test_entries(self, eksauth, kubeconfig) -> None:
        role = "arn:aws:iam::111122223333:role/Admin"
        result = eksauth(
            "update-kubeconfig",
            "--name",
            "prod",
            *OFFLINE,
            "--shared-user",
            "--role-arn",
            role,
            "--role-session-name",
            "me",
            "--profile",
            "ops",
            "--alias",
            "p",
        )
        assert result.exit_code == 0, result.stderr
        content = yaml.safe_load(kubeconfig.read_text())
        assert content["clusters"][0]["cluster"]["extensions"] == [
            {
                "name": EXT,
                "extension": {
                    "clusterName": "prod",
                    "region": "eu-west-1",
                    "profile": "ops",
                    "roleArn": role,
                    "roleSessionName": "me",
                },
            }
        ]
        assert content["users"] == [
            {
                "name": "eksauth",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "args": ["token"],
                        "command": "eksauth",
                        "installHint": INSTALL_HINT,
                        "interactiveMode": "IfAvailable",
                        "provideClusterInfo": True,
                    }
                },
            }
        ]
        assert content["contexts"] == [
            {"name": "p", "context": {"cluster": "prod.eu-west-1", "user": "eksauth"}}
        ]

    def test_the_shared_user_is_made_once_and_left_alone(self, eksauth, kubeconfig) -> None:
        assert (
            eksauth("update-kubeconfig", "--name", "a", *OFFLINE, "--shared-user", "me").exit_code
            == 0
        )
        content = yaml.safe_load(kubeconfig.read_text())
        content["users"][0]["user"]["exec"]["env"] = [{"name": "X", "value": "kept"}]
        kubeconfig.write_text(yaml.safe_dump(content))
        again = eksauth("update-kubeconfig", "--name", "b", *OFFLINE, "--shared-user", "me")
        assert again.exit_code == 0, again.stderr
        assert "shared user" not in again.stderr
        after = yaml.safe_load(kubeconfig.read_text())
        assert after["users"] == content["users"]
        assert [c["context"]["user"] for c in after["contexts"]] == ["me", "me"]

    def test_a_foreign_user_of_that_name_is_refused(self, eksauth, kubeconfig) -> None:
        kubeconfig.write_text(
            yaml.safe_dump({"users": [{"name": "eksauth", "user": {"token": "t"}}]})
        )
        result = eksauth("update-kubeconfig", "--name", "a", *OFFLINE, "--shared-user")
        assert result.exit_code == 2
        assert "user eksauth that is not a shared eksauth user" in result.stderr

    @pytest.mark.parametrize(
        "extra",
        [
            ("--kubelet",),
            ("--user-alias", "u"),
            ("--forward-session-name", "--role-arn", "arn:aws:iam::111122223333:role/R"),
        ],
    )
    def test_exclusions(self, eksauth, kubeconfig, extra) -> None:
        result = eksauth("update-kubeconfig", "--name", "a", *OFFLINE, "--shared-user", *extra)
        assert result.exit_code == 2
        assert "--shared-user excludes" in result.stderr
        assert not kubeconfig.exists()


def token_user(name: str, *args: str, **extra: object) -> dict:
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "eksauth"}
    return {"name": name, "user": {"exec": {**exec_, "args": ["token", *args], **extra}}}


def kubeconfig_with(users: list, contexts: list, clusters=("prod", "dev")) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": f"https://{c}"}} for c in clusters],
        "users": users,
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, c, u in contexts],
    }


class TestMigrate:
    @pytest.mark.parametrize(
        ("user", "reason"),
        [
            (
                token_user("u", "-c", "prod", "--sts-url", "https://sts.x"),
                "--sts-url cannot be shared",
            ),
            (token_user("u", "-c", "prod", "--cache-dir", "/c"), "--cache-dir cannot be shared"),
            (token_user("u", "-c", "prod", interactiveMode="Never"), "interactiveMode Never"),
            (
                token_user("u", "-c", "prod", env=[{"name": "AWS_CA_BUNDLE", "value": "/x"}]),
                "env AWS_CA_BUNDLE",
            ),
            (token_user("u", "-c", "prod", installHint="x"), "installHint cannot be shared"),
            (
                token_user(
                    "u",
                    "-c",
                    "prod",
                    "--role-arn",
                    "arn:aws:iam::111122223333:role/R",
                    "--role-duration",
                    "3600",
                ),
                "--role-duration",
            ),
        ],
    )
    def test_left_as_it_was(self, eksauth, kubeconfig, user, reason) -> None:
        content = kubeconfig_with([user], [("p", "prod", "u")])
        kubeconfig.write_text(yaml.safe_dump(content))
        result = eksauth("migrate-kubeconfig", "--shared-user")
        assert result.exit_code == 0
        assert "warning: left user u: " in result.stderr
        assert reason in result.stderr
        assert yaml.safe_load(kubeconfig.read_text()) == content

    def test_a_user_with_eksauths_own_install_hint_is_shared(self, eksauth, kubeconfig) -> None:
        """update-kubeconfig writes INSTALL_HINT into every exec; the shared user carries it
        too, so nothing is lost by sharing (any other hint is, and stays: above)."""
        user = token_user("u", "-c", "prod", "--region", "eu-west-1", installHint=INSTALL_HINT)
        kubeconfig.write_text(yaml.safe_dump(kubeconfig_with([user], [("p", "prod", "u")])))
        result = eksauth("migrate-kubeconfig", "--shared-user")
        assert result.exit_code == 0, result.stderr
        (shared,) = yaml.safe_load(kubeconfig.read_text())["users"]
        assert shared["name"] == "eksauth"
        assert shared["user"]["exec"]["installHint"] == INSTALL_HINT

    def test_conflicts(self, eksauth, kubeconfig) -> None:
        content = kubeconfig_with(
            [
                token_user("a", "-c", "prod", "--region", "eu-west-1"),
                token_user("b", "-c", "prod", "--region", "us-east-1"),
                token_user("c", "-c", "dev"),
                token_user("unused", "-c", "dev"),
            ],
            [("p1", "prod", "a"), ("p2", "prod", "b"), ("d", "dev", "c"), ("x", "nowhere", "c")],
        )
        kubeconfig.write_text(yaml.safe_dump(content))
        result = eksauth("migrate-kubeconfig", "--shared-user", "--dry-run")
        assert (
            "left user b: cluster prod is used by another user with other values" in result.stderr
        )
        assert "left user c: context x names no cluster entry" in result.stderr
        assert "left user unused: no context uses it" in result.stderr
        assert "would migrate user a: -> shared user eksauth (cluster prod)" in result.stderr
        assert kubeconfig.read_text() == yaml.safe_dump(content)  # dry run

    def test_an_existing_different_extension_is_kept(self, eksauth, kubeconfig) -> None:
        content = kubeconfig_with([token_user("a", "-c", "prod")], [("p", "prod", "a")])
        content["clusters"][0]["cluster"]["extensions"] = [
            {"name": EXT, "extension": {"clusterName": "x"}}
        ]
        kubeconfig.write_text(yaml.safe_dump(content))
        result = eksauth("migrate-kubeconfig", "--shared-user")
        assert "left user a: cluster prod already has another exec extension" in result.stderr
        assert yaml.safe_load(kubeconfig.read_text()) == content
