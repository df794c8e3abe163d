"""Programs as the driver runs them: project directories, config, options, unsupported parts."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import Mocks

from dumont_iac.testing import Deployment, DeploymentError, ProjectError, UnsupportedByDriverError
from dumont_iac.testing.toy import ToyRecord

PROGRAM = textwrap.dedent(
    """
    import pulumi
    from dumont_iac.testing.toy import ToyRecord
    from naming import record_name   # a module next to __main__.py, as projects have

    config = pulumi.Config()
    record = ToyRecord("main", {"name": record_name(config.require("suffix")),
                                "size": config.require_int("size")})
    pulumi.export("name", record.name)
    pulumi.export("token", pulumi.Config("dumont").require_secret("apiKey").apply(len))
    """
)


def write_project(directory: Path, size: int = 2, secure: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: toyproject\nruntime: python\n")
    (directory / "__main__.py").write_text(PROGRAM)
    (directory / "naming.py").write_text("def record_name(suffix):\n    return 'rec-' + suffix\n")
    config = {"toyproject:suffix": "a", "toyproject:size": size}
    if secure:
        config["dumont:apiKey"] = {"secure": "v1:abcdef"}
    (directory / "Pulumi.dev.yaml").write_text(json.dumps({"config": config}))
    return directory


def test_a_project_directory_runs_with_its_stack_config(deployment_factory, tmp_path, toy_env):
    project = write_project(tmp_path / "proj")
    deployment = deployment_factory(project, env=toy_env, secret_config={"dumont:apiKey": "k" * 9})
    result = deployment.up()
    assert deployment.project == "toyproject"
    assert result.outputs == {"name": "rec-a", "token": 9}
    assert result.secret_outputs == ["token"]
    urn = next(iter(deployment.state.resources))
    assert urn == "urn:pulumi:dev::toyproject::pulumi-python:dynamic/dumont-testing:ToyRecord::main"


def test_project_files_are_read_afresh_on_each_run(deployment_factory, tmp_path, toy_env):
    project = write_project(tmp_path / "proj")
    deployment = deployment_factory(project, env=toy_env, secret_config={"dumont:apiKey": "k"})
    deployment.up()
    (project / "naming.py").write_text("def record_name(suffix):\n    return 'new-' + suffix\n")
    result = deployment.up()
    assert result.names("replaced") == ["main"] and result.outputs["name"] == "new-a"


def test_config_given_to_the_driver_overrides_the_stack_file(deployment_factory, tmp_path, toy_env):
    project = write_project(tmp_path / "proj")
    deployment = deployment_factory(
        project, env=toy_env, config={"size": 7}, secret_config={"dumont:apiKey": "k"}
    )
    deployment.up()
    assert deployment.config["toyproject:size"] == "7"
    assert deployment.state.by_name("main").outputs["size"] == 7


def test_encrypted_stack_config_must_be_given_explicitly(tmp_path):
    project = write_project(tmp_path / "proj", secure=True)
    with pytest.raises(ProjectError, match=r"encrypted values .*: dumont:apiKey; pass them as"):
        Deployment(project)
    assert Deployment(project, secret_config={"dumont:apiKey": "k"}).secret_keys == [
        "dumont:apiKey"
    ]


def test_a_directory_without_pulumi_yaml_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="has no Pulumi.yaml"):
        Deployment(tmp_path)


def test_the_driver_can_be_called_from_inside_a_running_event_loop(deployment_factory, toy_env):
    deployment = deployment_factory(lambda: ToyRecord("r", {"name": "r"}), env=toy_env)

    async def deploy_from_async_code():
        return deployment.up()

    assert asyncio.run(deploy_from_async_code()).names("created") == ["r"]


def test_many_resources_register_concurrently(deployment_factory, toy_env, toy_store):
    def program() -> None:
        for i in range(12):
            ToyRecord(f"r{i}", {"name": f"r{i}", "size": i + 1})

    deployment = deployment_factory(program, env=toy_env)
    assert deployment.up().counts["created"] == 12
    assert sorted(r["size"] for r in toy_store.records()) == list(range(1, 13))
    assert deployment.destroy().counts["deleted"] == 12 and toy_store.records() == []


def test_ignore_changes_keeps_the_prior_value(deployment_factory, toy_env, toy_store):
    size = {"v": 1}

    def program() -> None:
        opts = pulumi.ResourceOptions(ignore_changes=["size"])
        ToyRecord("r", {"name": "r", "size": size["v"]}, opts)

    deployment = deployment_factory(program, env=toy_env)
    deployment.up()
    size["v"] = 5
    assert not deployment.up().changed
    assert toy_store.records()[0]["size"] == 1


def test_replace_on_changes_forces_replacement_of_an_in_place_field(deployment_factory, toy_env):
    color = {"v": "red"}

    def program() -> None:
        opts = pulumi.ResourceOptions(replace_on_changes=["color"])
        ToyRecord("r", {"name": "r", "color": color["v"]}, opts)

    deployment = deployment_factory(program, env=toy_env)
    deployment.up()
    color["v"] = "blue"
    assert deployment.up().names("replaced") == ["r"]


def test_protected_resources_are_not_destroyed_and_retained_ones_are_left_alive(
    deployment_factory, toy_env, toy_store
):
    def program() -> None:
        ToyRecord("kept", {"name": "kept"}, pulumi.ResourceOptions(retain_on_delete=True))
        ToyRecord("guarded", {"name": "guarded"}, pulumi.ResourceOptions(protect=True))

    deployment = deployment_factory(program, env=toy_env)
    deployment.up()
    with pytest.raises(DeploymentError, match="guarded is protected"):
        deployment.destroy()
    deployment.state.by_name("guarded").protect = False
    assert deployment.destroy().counts["deleted"] == 2
    assert [r["name"] for r in toy_store.records()] == ["kept"]


def test_a_program_error_fails_the_run_with_it(deployment_factory):
    def program() -> None:
        raise RuntimeError("the program is broken")

    with pytest.raises(DeploymentError, match="up failed: the program is broken") as caught:
        deployment_factory(program).up()
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_non_dynamic_resource_needs_mocks(deployment_factory, toy_env):
    def program() -> None:
        pulumi.CustomResource("aws:s3/bucket:Bucket", "bucket", {"acl": "private"})

    with pytest.raises(DeploymentError, match="is not a pulumi.dynamic resource") as caught:
        deployment_factory(program).up()
    assert isinstance(caught.value.errors[0], UnsupportedByDriverError)

    class BucketMocks(Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", {**args.inputs, "arn": "arn:aws:s3:::bucket"}

        def call(self, args):
            return {}

    def mixed() -> None:
        bucket = pulumi.CustomResource("aws:s3/bucket:Bucket", "bucket", {"acl": "private"})
        ToyRecord("r", {"name": "r", "labels": {"bucket": bucket.id}})

    deployment = deployment_factory(mixed, env=toy_env, mocks=BucketMocks())
    assert deployment.up().names("created") == ["r"]
    assert deployment.state.by_name("r").outputs["labels"] == {"bucket": "bucket-id"}


def test_components_parent_resources_without_being_deployed(deployment_factory, toy_env):
    class Pair(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Pair", name)
            opts = pulumi.ResourceOptions(parent=self)
            ToyRecord(f"{name}-a", {"name": "a"}, opts)
            ToyRecord(f"{name}-b", {"name": "b"}, opts)
            self.register_outputs({})

    deployment = deployment_factory(lambda: Pair("pair"), env=toy_env)
    assert deployment.up().names("created") == ["pair-a", "pair-b"]
    assert all("test:index:Pair$pulumi-python:dynamic" in u for u in deployment.state.resources)
