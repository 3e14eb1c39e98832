"""One user entry for every cluster, end to end: the real kubectl, two HTTPS API-server
stand-ins (different cluster names and regions, each accepting only tokens for itself), and
`eksauth token` told the cluster by kubectl (`provideClusterInfo` and the exec extension).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ACCESS_KEY, SECRET_KEY, USER_ARN, kubectl_version, run_tool
from tests.standins import EksApiServer

pytestmark = pytest.mark.e2e

EXT = "client.authentication.k8s.io/exec"
CLUSTERS = (("prod", "eu-west-1"), ("dev", "us-east-2"))


@pytest.fixture
def servers(world, sts_server, tmp_path) -> Iterator[dict[str, EksApiServer]]:
    """prod (eu-west-1) and dev (us-east-2): each checks x-k8s-aws-id against its own name."""
    made = {}
    for name, _ in CLUSTERS:
        (tmp_path / name).mkdir()
        made[name] = EksApiServer(world, sts_server.url, name, tmp_path / name).start()
    try:
        yield made
    finally:
        for server in made.values():
            server.stop()


def kubectl(env: dict[str, str], context: str) -> str:
    """`kubectl --context C get --raw /version` must succeed; the plugin's stderr is returned."""
    done = kubectl_version(env, "--context", context)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gitVersion"].startswith("v1.31")
    return done.stderr


def replayed(world) -> list[tuple[str, str]]:
    """(x-k8s-aws-id, signed STS host) of every token an API server replayed to STS."""
    return [
        (e["x_k8s_aws_id"], e["host"])
        for e in world.entries("GetCallerIdentity:presigned")
        if e.get("result") == "ok"
    ]


def cluster_entry(name: str, region: str, server: EksApiServer) -> dict[str, object]:
    return {
        "name": name,
        "cluster": {
            "server": server.url,
            "certificate-authority-data": server.ca_data_b64,
            "extensions": [{"name": EXT, "extension": {"clusterName": name, "region": region}}],
        },
    }


def test_one_user_two_clusters_twice_each(servers, kubectl_env, world, tmp_path) -> None:
    shared = {
        "name": "eksauth",
        "user": {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "eksauth",
                "args": ["token", "-v"],  # -v: the plugin says whether the cache served it
                "provideClusterInfo": True,
                "interactiveMode": "IfAvailable",
            }
        },
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry(n, r, servers[n]) for n, r in CLUSTERS],
        "users": [shared],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": "eksauth"}} for n, _ in CLUSTERS
        ],
        "current-context": "prod",
    }
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(config))

    for round_ in (1, 2):
        for name, region in CLUSTERS:
            stderr = kubectl(kubectl_env, name)
            assert f"cluster name: {name} (from the kubeconfig extension)" in stderr
            assert f"region: {region} (from the kubeconfig extension)" in stderr
            # Only the stdlib fast path says "expires": the second token came from the cache.
            assert ("token served from the cache, expires" in stderr) == (round_ == 2), stderr

    for name, _region in CLUSTERS:
        assert [s.arn for s in servers[name].seen] == [USER_ARN, USER_ARN]
        assert servers[name].rejections == []
    assert sorted(replayed(world)) == sorted(
        (name, f"sts.{region}.amazonaws.com") for name, region in CLUSTERS for _ in (1, 2)
    )
    cached = run_tool("eksauth", "cache", "list", "--json", env=kubectl_env)
    assert cached.returncode == 0, cached.stderr
    rows = json.loads(cached.stdout)
    assert sorted((r["cluster"], r["region"]) for r in rows) == sorted(CLUSTERS)


def test_a_token_for_one_cluster_is_refused_by_the_other(servers, kubectl_env, tmp_path) -> None:
    """The stand-ins really check the cluster: the prod extension on dev's server fails."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry("prod", "eu-west-1", servers["dev"])],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "eksauth",
                        "args": ["token"],
                        "provideClusterInfo": True,
                    }
                },
            }
        ],
        "contexts": [{"name": "c", "context": {"cluster": "prod", "user": "u"}}],
    }
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(config))
    done = kubectl_version(kubectl_env, "--context", "c")
    assert done.returncode != 0
    assert servers["dev"].seen == []
    assert servers["dev"].rejections


def test_update_kubeconfig_shared_user_round_trip(servers, kubectl_env, eksauth, tmp_path) -> None:
    for name, region in CLUSTERS:
        where = ("--endpoint", servers[name].url, "--ca-data", servers[name].ca_data_b64)
        result = eksauth(
            "update-kubeconfig", "--name", name, "--region", region, *where, "--shared-user"
        )
        assert result.exit_code == 0, result.stderr
        assert ("Added the shared user eksauth" in result.stderr) == (name == "prod")
    written = yaml.safe_load((tmp_path / "kube" / "config").read_text())
    assert [u["name"] for u in written["users"]] == ["eksauth"]
    assert written["users"][0]["user"]["exec"]["provideClusterInfo"] is True
    for name, region in CLUSTERS:
        kubectl(kubectl_env, f"{name}.{region}")
        kubectl(kubectl_env, f"{name}.{region}")
        assert len(servers[name].seen) == 2


def per_cluster_user(name: str, command: str, args: list[str], **extra: object) -> dict:
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command}
    return {"name": name, "user": {"exec": {**exec_, "args": args, **extra}}}


def test_migrate_kubeconfig_shared_user_round_trip(servers, kubectl_env, eksauth, tmp_path) -> None:
    prod, dev = servers["prod"], servers["dev"]
    external = ["token", "-c", "prod", "--region", "eu-west-1"]
    external += ["--role-arn", "arn:aws:iam::111122223333:role/R", "--external-id", "xid-1"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "prod",
                "cluster": {"server": prod.url, "certificate-authority-data": prod.ca_data_b64},
            },
            {
                "name": "dev",
                "cluster": {"server": dev.url, "certificate-authority-data": dev.ca_data_b64},
            },
        ],
        "users": [
            per_cluster_user(
                "aws-prod",
                "aws",
                ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod"],
            ),
            per_cluster_user(
                "auth-dev",
                "aws-iam-authenticator",
                ["token", "-i", "dev", "--region", "eu-west-1"],  # with none it is left
                env=[{"name": "AWS_PROFILE", "value": "default"}],
            ),
            per_cluster_user("external", "eksauth", external),
        ],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "aws-prod"}},
            {"name": "dev", "context": {"cluster": "dev", "user": "auth-dev"}},
            {"name": "prod-external", "context": {"cluster": "prod", "user": "external"}},
        ],
        "current-context": "prod",
    }
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    original = yaml.safe_dump(config)
    path.write_text(original)
    (tmp_path / "home" / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )

    result = eksauth("migrate-kubeconfig", "--shared-user")
    assert result.exit_code == 0, result.stderr
    assert "warning: left user external: --external-id cannot be shared" in result.stderr
    assert Path(f"{path}.eksauth-backup").read_text() == original
    migrated = yaml.safe_load(path.read_text())
    assert [u["name"] for u in migrated["users"]] == ["external", "eksauth"]
    assert migrated["users"][0] == config["users"][2]  # left exactly as it was
    extensions = {c["name"]: c["cluster"]["extensions"] for c in migrated["clusters"]}
    assert extensions == {
        "prod": [{"name": EXT, "extension": {"clusterName": "prod", "region": "eu-west-1"}}],
        "dev": [
            {
                "name": EXT,
                "extension": {"clusterName": "dev", "region": "eu-west-1", "profile": "default"},
            }
        ],
    }
    assert [c["context"]["user"] for c in migrated["contexts"]] == [
        "eksauth",
        "eksauth",
        "external",
    ]
    for context in ("prod", "dev"):
        kubectl(kubectl_env, context)
    assert (len(prod.seen), len(dev.seen)) == (1, 1)

    again = eksauth("migrate-kubeconfig", "--shared-user")
    assert again.exit_code == 0
    assert f"nothing to migrate in {path}" in again.stderr
    assert yaml.safe_load(path.read_text()) == migrated
