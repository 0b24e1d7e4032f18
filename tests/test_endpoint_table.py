"""The namespaces are exactly the endpoint table: every method a row, every row a method."""

from __future__ import annotations

import inspect

import pytest
from endpoint_table import API_ENDPOINTS, ENDPOINTS

from linq_async import LinqSession
from linq_async.resources._base import Resource


def namespace_methods(session: LinqSession) -> set[tuple[str, str]]:
    """Every public (namespace, method) reachable from a session, sub-namespaces included."""
    found: set[tuple[str, str]] = set()

    def walk(path: str, namespace: Resource) -> None:
        for name in dir(type(namespace)):
            if name.startswith("_"):
                continue
            value = getattr(namespace, name)
            if isinstance(value, Resource):
                walk(f"{path}.{name}", value)
            elif callable(value):
                found.add((path, name))

    for name in dir(type(session)):
        if not name.startswith("_"):
            value = getattr(session, name)
            if isinstance(value, Resource):
                walk(name, value)
    return found


@pytest.mark.parametrize(("namespace", "method", "verb", "path"), ENDPOINTS)
def test_every_row_is_a_method(namespace: str, method: str, verb: str, path: str) -> None:
    """Each row of the table exists on a session, as a documented callable."""
    target: object = LinqSession("key")
    for part in namespace.split("."):
        target = getattr(target, part)
    function = getattr(target, method)
    assert callable(function)
    doc = inspect.getdoc(function) or ""
    assert doc, f"{namespace}.{method} has no docstring"
    if path is not None:
        assert f"/v3{path}" in doc.replace("``", ""), f"{namespace}.{method}: route not in doc"


def test_every_method_is_a_row() -> None:
    """No public namespace method is missing from the table."""
    table = {(namespace, method) for namespace, method, _, _ in ENDPOINTS}
    assert namespace_methods(LinqSession("key")) - table == set()


def test_the_table_counts_69_routes() -> None:
    """69 distinct (verb, path) routes: the API's current endpoints but the retired ones."""
    assert len({(verb, path) for _, _, verb, path in API_ENDPOINTS}) == 69
