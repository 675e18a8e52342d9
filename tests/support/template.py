"""Reads template.yaml (CloudFormation YAML with intrinsic-function tags) for tests.

Contract: `load_template()` returns the template as plain data, each `!Tag value` becoming
`{"Tag": value}`; `table_create_args(name)` returns boto3 `create_table` arguments built from the
`Table` resource, so the tests' table cannot drift from the deployed one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path | None = None) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load((path or ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    return data


def table_create_args(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(create_table kwargs, update_time_to_live kwargs) for a table called `name`."""
    props = load_template()["Resources"]["Table"]["Properties"]
    create = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    ttl = props["TimeToLiveSpecification"]
    return create, {"TableName": name, "TimeToLiveSpecification": ttl}
