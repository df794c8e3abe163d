"""The marketplace's error answers: ``{"success": false, "error": <code>, "msg": ...}``, also
with HTTP 200, with codes such as ``no_such_ask`` (the offer was taken) and ``invalid_args``."""

from __future__ import annotations

from typing import Any

from dumont_iac import errors
from dumont_iac.clients.decoding import ErrorDecoder, Failure, api_error_fields
from dumont_iac.config import ServiceSettings

BAD_REQUEST_CODES = frozenset({"invalid_args", "invalid_request", "invalid_price"})


class MarketplaceErrors(ErrorDecoder):
    def failed(self, status: int, body: Any) -> bool:
        return status >= 400 or (isinstance(body, dict) and body.get("success") is False)

    def read(self, status: int, body: Any) -> Failure:
        base = super().read(status, body)
        code = body.get("error") if isinstance(body, dict) else None
        detail = None
        if isinstance(body, dict):
            detail = next((str(body[k]) for k in ("msg", "message", "detail") if body.get(k)), None)
        return Failure(status, code if isinstance(code, str) else None, detail, base.field, body)

    def kind(self, failure: Failure) -> str:
        code = failure.code or ""
        if "no_such_ask" in f"{code} {failure.detail}":
            return "offer_unavailable"
        by_status = super().kind(failure)
        if by_status == "auth" or code == "auth_error":
            return "auth"
        if by_status == "balance" or code == "insufficient_balance":
            return "balance"
        if by_status == "not_found" or code.startswith("no_such"):
            return "not_found"
        if by_status == "bad_request" or code in BAD_REQUEST_CODES:
            return "bad_request"
        return by_status

    def error(
        self, service: ServiceSettings, method: str, path: str, failure: Failure
    ) -> errors.ApiError:
        if self.kind(failure) != "offer_unavailable":
            return super().error(service, method, path, failure)
        ask = failure.body.get("ask_id") if isinstance(failure.body, dict) else None
        offer = f"Offer {ask}" if ask is not None else "The offer"
        return errors.OfferUnavailable(
            f"{offer} is no longer available ({failure.text}); choose another offer.",
            **api_error_fields(method, path, failure),
        )
