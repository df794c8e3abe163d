"""The resource monitor a Pulumi program talks to when run by the engine-protocol driver.

It stands where the engine's monitor stands: every resource registration of the program arrives
here (through the SDK's mock-monitor hook) and is handed to a callback that runs the real
provider; the stack's exported outputs are captured; anything the driver cannot run (a
non-dynamic custom resource, an invoke, a ``get``) goes to optional user ``Mocks`` or fails with
a message saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import provider_pb2, resource_pb2

from dumont_iac.errors import UnsupportedByDriverError
from dumont_iac.testing.engine_process import PROVIDER_KEY, plain, serialize, strip_secrets

DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
STACK_TYPE = "pulumi:pulumi:Stack"

# Resource references are left out on purpose: the dynamic provider does not accept them, so
# the SDK sends a resource input as its id (custom) or URN (component), as the engine would.
_FEATURES = [
    resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
    resource_pb2.RESOURCE_MONITOR_FEATURE_TRANSFORMS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_TRANSFORMS,
]


@dataclass
class Registration:
    """One resource as the program registered it, secrets stripped, with its options."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)
    dependencies: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    protect: bool = False
    retain_on_delete: bool = False


class _RejectingMocks(Mocks):
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        raise UnsupportedByDriverError(
            f"{args.typ} {args.name!r} is not a pulumi.dynamic resource; the driver runs only "
            "dynamic providers. Pass mocks= to answer for other resources."
        )

    def call(self, args: Any) -> tuple[dict, list | None]:
        raise UnsupportedByDriverError(
            f"invoke {args.token} is not supported by the driver; pass mocks= to answer it"
        )


class EngineMonitor(MockMonitor):
    """Routes dynamic resource registrations to ``on_register``; captures stack outputs."""

    def __init__(
        self,
        on_register: Callable[[Registration], tuple[str, dict[str, Any]]],
        mocks: Mocks | None = None,
    ) -> None:
        super().__init__(mocks or _RejectingMocks())
        self._on_register = on_register
        self._lock = threading.Lock()
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}
        self.secret_stack_outputs: list[str] = []
        self.errors: list[BaseException] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root stack out of its children's type chain.
        if parent and parent == self.stack_urn:
            parent = ""
        return super().make_urn(parent, type_, name)

    def GetDeploymentInfo(self, request: Any) -> Any:
        return resource_pb2.DeploymentInfo(supportedFeatures=_FEATURES)

    def SupportsFeature(self, request: Any) -> Any:
        names = {"secrets", "aliasSpecs", "deletedWith", "transforms", "invokeTransforms"}
        return type("SupportsFeatureResponse", (), {"hasSupport": request.id in names})

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        try:
            if not request.custom:
                return resource_pb2.RegisterResourceResponse(urn=urn, object=request.object)
            if request.type.startswith(DYNAMIC_TYPE_PREFIX):
                id_, outputs = self._on_register(self._registration(urn, request))
            else:
                id_, outputs = self._mocked(request, request.object, request.importId)
        except BaseException as exc:
            with self._lock:
                self.errors.append(exc)
            raise
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, outputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=serialize(outputs))

    def _registration(self, urn: str, request: Any) -> Registration:
        raw = rpc.deserialize_properties(request.object)
        secret = {k for k, v in raw.items() if rpc.is_rpc_secret(v)}
        return Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            inputs=plain(strip_secrets(raw)),
            secret_inputs=secret - {PROVIDER_KEY},
            dependencies=list(request.dependencies),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn and request.urn == self.stack_urn:
            raw = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            self.secret_stack_outputs = sorted(k for k, v in raw.items() if rpc.is_rpc_secret(v))
            self.stack_outputs = plain(strip_secrets(raw))
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        if request.type.startswith(DYNAMIC_TYPE_PREFIX):
            raise UnsupportedByDriverError(
                f"{request.type} {request.name!r}: reading an existing dynamic resource by id "
                "is not supported (the engine cannot do it either: Read gets no __provider)"
            )
        urn = self.make_urn(request.parent, request.type, request.name)
        id_, outputs = self._mocked(request, request.properties, request.id)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, outputs)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=serialize(outputs))

    def Invoke(self, request: Any) -> Any:
        args = rpc.deserialize_properties(request.args)
        if request.tok == "pulumi:pulumi:getResource":
            found = self.resources.get(args["urn"])
            if found is None:
                raise UnsupportedByDriverError(f"unknown resource {args['urn']}")
            return resource_pb2.ResourceInvokeResponse(**{"return": serialize(found._asdict())})
        answer = self.mocks.call(MockCallArgs(request.tok, args, request.provider))
        ret, failures = (answer, []) if isinstance(answer, dict) else (answer[0], answer[1] or [])
        return resource_pb2.ResourceInvokeResponse(
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures],
            **{"return": serialize(ret)},
        )

    def _mocked(self, request: Any, props: Any, resource_id: str) -> tuple[str, dict[str, Any]]:
        """Answer for a resource the driver cannot deploy, from the user's mocks.

        The SDK's own MockMonitor would leave an event loop open in each worker thread."""
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=rpc.deserialize_properties(props),
            provider=request.provider,
            resource_id=resource_id,
            custom=True,
        )
        id_, outputs = self.mocks.new_resource(args)
        return id_ or "", dict(outputs)
