"""The records table as a ``CreateTable`` request, built from the shared contract.

For tests and benchmarks that need the table alone on an emulator, without provisioning
the whole stack; the stack itself (``s3flow.infra.storage``) declares the same keys and
index from the same constants, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from s3flow import contract


def create_table_request(table_name: str) -> dict[str, Any]:
    """Keyword arguments for ``dynamodb.create_table``: keys, time index, stream, on-demand."""
    key_names = (contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY, contract.TIME_INDEX_PARTITION_KEY)
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": contract.STREAM_VIEW_TYPE},
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_names],
        "KeySchema": [
            {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": contract.TIME_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": contract.TIME_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": contract.TIME_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": list(contract.TIME_INDEX_PROJECTED_ATTRIBUTES),
                },
            }
        ],
    }
