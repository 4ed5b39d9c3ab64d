"""Finding a client's waiter model and operation method, without depending on botocore.

botocore is imported only here, lazily, and only when the caller did not pass a model:
its loader reads the ``waiters-2`` file of the client's service and API version (the
same file boto3's own waiters use, found through the same search path, including
``AWS_DATA_PATH``). Everything else reads public attributes of the
client: ``client.meta.service_model`` and ``client.meta.method_to_api_mapping``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._model import WaiterModel

__all__ = ["method_name", "model_for", "operation_of"]


def model_for(client: Any, model: WaiterModel | Mapping[str, Any] | None = None) -> WaiterModel:
    """The waiter model to use: ``model`` (a ``WaiterModel`` or a parsed dict) if given,
    else the one botocore ships for the client's service."""
    if isinstance(model, WaiterModel):
        return model
    if model is not None:
        return WaiterModel.from_dict(model)
    service_model = getattr(getattr(client, "meta", None), "service_model", None)
    service = getattr(service_model, "service_name", None)
    if not isinstance(service, str):
        raise TypeError(
            f"cannot find the waiter model of {type(client).__name__} (not a botocore client): "
            "pass model= (a tarry.aws.WaiterModel or a parsed waiters-2.json)"
        )
    version = getattr(service_model, "api_version", None)
    data_path = os.environ.get("AWS_DATA_PATH") or None
    return _botocore_model(service, version if isinstance(version, str) else None, data_path)


@functools.lru_cache(maxsize=32)
def _botocore_model(service: str, api_version: str | None, data_path: str | None) -> WaiterModel:
    """The model botocore would load: ``AWS_DATA_PATH`` first, as botocore's session does."""
    try:
        from botocore.exceptions import DataNotFoundError
        from botocore.loaders import create_loader
    except ImportError:  # pragma: no cover - a botocore client implies botocore
        raise ModuleNotFoundError(
            "loading a waiter model from a client needs botocore; pass model= instead"
        ) from None
    try:
        data = create_loader(data_path).load_service_model(service, "waiters-2", api_version)
    except DataNotFoundError:
        raise ValueError(f"botocore has no waiters for {service} {api_version or ''}") from None
    return WaiterModel.from_dict(data)


_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def method_name(operation: str) -> str:
    """The Python method name of an API operation: ``DescribeDBInstances`` ->
    ``describe_db_instances``."""
    return _BOUNDARY.sub("_", operation).lower()


def operation_of(client: Any, operation: str) -> Callable[..., Any]:
    """The client method that calls ``operation``.

    A botocore client says which method maps to which operation; any other object is
    expected to have the snake_case method (``GetTranscriptionJob`` ->
    ``get_transcription_job``).
    """
    name = None
    mapping = getattr(getattr(client, "meta", None), "method_to_api_mapping", None)
    if isinstance(mapping, Mapping):
        name = next((m for m, api in mapping.items() if api == operation), None)
    if name is None:
        name = method_name(operation)
    method = getattr(client, name, None)
    if not callable(method):
        raise TypeError(f"{type(client).__name__} has no method {name!r} to call {operation}")
    return method  # type: ignore[no-any-return]
