"""Which file of a multi-file KUBECONFIG update-kubeconfig and migrate-kubeconfig write.

aws-cli's rule (KubeconfigSelector.choose_kubeconfig): the file that already holds the cluster,
passing over files it cannot parse with a warning, else the first file. The files are shaped
like aws-cli's testdata (tests/functional/eks/testdata: valid_existing, invalid_text...), written
here. Both spellings are compared with the real `aws eks update-kubeconfig`: every file must
come out equal apart from the exec.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_tool
from tests.standins.moto_eks import create_cluster
from tests.test_kubeconfig import CA_DATA, ENDPOINT, OFFLINE

OFFLINE_NAME = "demo.eu-west-1"
ARN = "arn:aws:eks:eu-west-1:123456789012:cluster/demo"
# aws-cli's testdata/invalid_text: not YAML a kubeconfig can be read from.
INVALID_TEXT = "apiVersion: v1\nclusters: [\n  - not: closed\n"


def existing(cluster: str, *, server: str = "https://existingEndpoint.eks.amazonaws.com") -> str:
    """aws-cli's testdata/valid_existing, holding `cluster` (entries named as aws-cli names)."""
    return f"""\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATADATA=
    server: {server}
  name: {cluster}
contexts:
- context:
    cluster: {cluster}
    user: {cluster}
  name: {cluster}
current-context: {cluster}
kind: Config
preferences: {{}}
users:
- name: {cluster}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - eu-west-1
      - eks
      - get-token
      - --cluster-name
      - {cluster.rsplit("/", 1)[-1].split(".", maxsplit=1)[0]}
      - --output
      - json
      command: aws
"""


OTHER = existing("arn:aws:eks:us-west-2:111222333444:cluster/Existing")


def names(path: Path, key: str) -> list[str]:
    return [entry["name"] for entry in yaml.safe_load(path.read_text())[key]]


@pytest.fixture
def three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """KUBECONFIG=a:b:c, in a folder of their own."""
    folder = tmp_path / "kube"
    folder.mkdir()
    paths = [folder / name for name in "abc"]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, paths)))
    return paths


class TestUpdateKubeconfigChoosesTheFile:
    def offline(self, eksauth: Any) -> Any:
        return eksauth("update-kubeconfig", "--name", "demo", *OFFLINE)

    def test_the_file_holding_the_cluster_is_updated_in_place(self, eksauth, three) -> None:
        a, b, c = three
        a.write_text(OTHER)
        c.write_text(existing(OFFLINE_NAME))
        result = self.offline(eksauth)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == f"Updated context {OFFLINE_NAME} in {c}\n"
        assert a.read_text() == OTHER  # no duplicate added to the first file
        assert not b.exists()
        assert names(c, "clusters") == [OFFLINE_NAME]
        assert yaml.safe_load(c.read_text())["clusters"][0]["cluster"]["server"] == ENDPOINT

    def test_a_corrupt_first_file_is_passed_over_with_a_warning(self, eksauth, three) -> None:
        a, b, _ = three
        a.write_text(INVALID_TEXT)
        b.write_text(existing(OFFLINE_NAME))
        result = self.offline(eksauth)
        assert result.exit_code == 0, result.stderr
        warning, done = result.stderr.splitlines()
        assert warning.startswith(f"eksauth: warning: {a} is not valid YAML: ")
        assert warning.endswith("(skipped)")
        assert done == f"Updated context {OFFLINE_NAME} in {b}"
        assert a.read_text() == INVALID_TEXT
        assert yaml.safe_load(b.read_text())["users"][0]["user"]["exec"]["command"] == "eksauth"

    def test_no_file_holds_it_so_the_first_is_written(self, eksauth, three) -> None:
        a, b, c = three
        b.write_text(INVALID_TEXT)
        c.write_text(OTHER)
        result = self.offline(eksauth)
        assert result.exit_code == 0, result.stderr
        warning, done = result.stderr.splitlines()
        assert warning.startswith(f"eksauth: warning: {b} is not valid YAML: ")
        assert done == f"Added new context {OFFLINE_NAME} to {a}"
        assert names(a, "clusters") == [OFFLINE_NAME]
        assert (b.read_text(), c.read_text()) == (INVALID_TEXT, OTHER)

    def test_a_corrupt_first_file_to_write_is_the_error(self, eksauth, three) -> None:
        a, _, c = three
        a.write_text(INVALID_TEXT)
        c.write_text(OTHER)
        result = self.offline(eksauth)
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(f"eksauth: error: {a} is not valid YAML: ")
        assert (a.read_text(), c.read_text()) == (INVALID_TEXT, OTHER)

    def test_kubeconfig_option_is_the_only_file(self, eksauth, three, tmp_path) -> None:
        _, b, _ = three
        b.write_text(existing(OFFLINE_NAME))
        mine = tmp_path / "mine"
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE, "--kubeconfig", str(mine))
        assert result.exit_code == 0, result.stderr
        assert result.stderr == f"Added new context {OFFLINE_NAME} to {mine}\n"
        assert b.read_text() == existing(OFFLINE_NAME)

    def test_dry_run_prints_the_chosen_file(self, eksauth, three) -> None:
        a, b, _ = three
        a.write_text(OTHER)
        b.write_text(existing(OFFLINE_NAME))
        result = eksauth("update-kubeconfig", "--name", "demo", *OFFLINE, "--dry-run")
        assert result.exit_code == 0, result.stderr
        printed = yaml.safe_load(result.stdout)
        assert [c["name"] for c in printed["clusters"]] == [OFFLINE_NAME]
        assert printed["clusters"][0]["cluster"]["certificate-authority-data"] == CA_DATA
        assert b.read_text() == existing(OFFLINE_NAME)


def without_execs(path: Path) -> dict[str, Any]:
    """The file with every exec cut down to its apiVersion: what must equal aws-cli's."""
    content = yaml.safe_load(path.read_text())
    for user in content.get("users") or []:
        exec_ = user["user"].get("exec")
        if exec_ is not None:
            user["user"]["exec"] = {"apiVersion": exec_["apiVersion"]}
    return content


@pytest.mark.e2e
@pytest.mark.parametrize(
    "spelling", [["eks", "update-kubeconfig"], ["update-kubeconfig"]], ids=["aws", "eksauth"]
)
@pytest.mark.parametrize(
    "layout",
    [
        ("other", "holder", "absent"),
        ("corrupt", "holder", "other"),
        ("absent", "corrupt", "other"),
        ("other", "other2", "holder"),
    ],
    ids="-".join,
)
def test_the_files_aws_cli_writes(
    eksauth, moto_eks, aws_env, tmp_path, monkeypatch, spelling, layout
) -> None:
    """Each file of KUBECONFIG=a:b:c comes out as aws-cli leaves it, but for the exec."""
    create_cluster(moto_eks)
    shapes = {
        "other": OTHER,
        "other2": existing("arn:aws:eks:eu-west-1:123456789012:cluster/other"),
        "holder": existing(ARN),
        "corrupt": INVALID_TEXT,
    }
    outcomes = []
    for tool_name in ("ours", "theirs"):
        folder = tmp_path / tool_name
        folder.mkdir()
        paths = [folder / name for name in "abc"]
        for path, shape in zip(paths, layout):
            if shape != "absent":
                path.write_text(shapes[shape])
        monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, paths)))
        args = ["--name", "demo", "--region", "eu-west-1"]
        if tool_name == "ours":
            result = eksauth(*spelling, *args)
            assert result.exit_code == 0, result.stderr
            said = result.stderr.splitlines()[-1]
        else:
            done = run_tool("aws", "eks", "update-kubeconfig", *args)
            assert done.returncode == 0, done.stderr
            said = done.stdout.splitlines()[-1]
        files = [
            (without_execs(p) if shapes.get(s) != INVALID_TEXT else p.read_text())
            if p.exists()
            else None
            for p, s in zip(paths, layout)
        ]
        outcomes.append((said.replace(str(folder), "DIR"), files))
    assert outcomes[0] == outcomes[1]


class TestMigrateEachFile:
    def test_each_file_of_kubeconfig_is_migrated_in_place(self, eksauth, three) -> None:
        a, b, c = three
        a.write_text(OTHER)
        c.write_text(existing(ARN))
        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        for path in (a, c):
            assert f"wrote {path} (the previous file is {path}.eksauth-backup)" in result.stderr
            exec_ = yaml.safe_load(path.read_text())["users"][0]["user"]["exec"]
            assert exec_["command"] == "eksauth"
            assert exec_["args"][0] == "token"
        assert (a.with_name("a.eksauth-backup").read_text(), not b.exists()) == (OTHER, True)
        assert c.with_name("c.eksauth-backup").read_text() == existing(ARN)

    def test_dry_run_prints_one_document_per_file(self, eksauth, three) -> None:
        a, _, c = three
        a.write_text(OTHER)
        c.write_text(existing(ARN))
        result = eksauth("migrate-kubeconfig", "--dry-run")
        assert result.exit_code == 0, result.stderr
        documents = list(yaml.safe_load_all(result.stdout))
        assert [d["clusters"][0]["name"] for d in documents] == [
            "arn:aws:eks:us-west-2:111222333444:cluster/Existing",
            ARN,
        ]
        assert f"# {a}\n" in result.stdout
        assert f"# {c}\n" in result.stdout
        assert (a.read_text(), c.read_text()) == (OTHER, existing(ARN))

    def test_a_corrupt_file_is_left_and_the_others_migrated(self, eksauth, three) -> None:
        a, b, c = three
        a.write_text(INVALID_TEXT)
        b.write_text(OTHER)
        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"eksauth: warning: {a} is not valid YAML")
        assert lines[-1] == (
            "eksauth: error: 1 of the 2 files of KUBECONFIG were left as they were"
        )
        assert a.read_text() == INVALID_TEXT
        assert yaml.safe_load(b.read_text())["users"][0]["user"]["exec"]["command"] == "eksauth"
        assert not c.exists()

    def test_no_file_at_all(self, eksauth, three) -> None:
        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 1
        assert result.stderr == (
            "eksauth: error: no file of KUBECONFIG exists (give --kubeconfig FILE)\n"
        )

    def test_a_missing_file_leaves_no_trace(self, eksauth, three, monkeypatch) -> None:
        a, _, _ = three
        a.write_text(OTHER)
        elsewhere = a.parent.parent / "nowhere" / "config"
        monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(a), str(elsewhere)]))
        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        assert not elsewhere.parent.exists()
