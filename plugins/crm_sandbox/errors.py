"""Request-level errors, answered in Salesforce's shape ``[{"message", "errorCode"}]``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    """An HTTP error response: status, Salesforce errorCode, message (and optional fields)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None
        self.headers = headers or {}

    def body(self) -> list[dict[str, Any]]:
        """The JSON body Salesforce sends for this error."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    """404 NOT_FOUND."""
    return ApiError(404, "NOT_FOUND", message)


def bad_json(detail: str) -> ApiError:
    """400 JSON_PARSER_ERROR."""
    return ApiError(400, "JSON_PARSER_ERROR", detail)
