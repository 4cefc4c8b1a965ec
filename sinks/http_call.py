"""One HTTP call of a sink, classified for the retry loop: a response to read, or a failed :class:`CallResult`.

Classification (pure: :func:`classify_status`):

* 2xx: the caller reads the response;
* 408, 409, 429 and 5xx: retryable; a 5xx may have been applied (a proxy can fail after the origin acted), the
  others were not;
* any other status: not retryable (a 4xx means the request itself is wrong; sending it again changes nothing);
* a connect error or connect timeout: retryable, not applied (nothing reached the server);
* any other timeout or transport error once the request may have been sent: retryable, maybe applied.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from wismo.sinks.backoff import server_wait
from wismo.sinks.base import CallResult

RETRYABLE_4XX = frozenset({408, 409, 429})
DETAIL_CHARS = 300
"""How much of an error response body the audit detail and the dead letter keep."""


def classify_status(status: int) -> tuple[bool, bool]:
    """``(retryable, maybe_applied)`` of a non-2xx status."""
    if status >= 500:
        return True, True
    return status in RETRYABLE_4XX, False


def failed_response(response: httpx.Response, what: str, now: float | None = None) -> CallResult:
    """The :class:`CallResult` of a non-2xx response, with the server's wait hint and a body excerpt."""
    retryable, maybe_applied = classify_status(response.status_code)
    return CallResult(
        outcome="error",
        http_status=response.status_code,
        retryable=retryable,
        maybe_applied=maybe_applied,
        server_wait=server_wait(response.headers, time.time() if now is None else now) if retryable else None,
        detail=f"{what}: HTTP {response.status_code} {_excerpt(response)}".rstrip(),
    )


async def request(
    client: httpx.AsyncClient, method: str, url: str, what: str, **kwargs: Any
) -> httpx.Response | CallResult:
    """Make the call. Returns the response when it is 2xx, else the classified failure (never raises for
    network or HTTP errors)."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.ConnectTimeout as exc:
        return CallResult("timeout", retryable=True, detail=f"{what}: connect timeout ({exc!r})")
    except httpx.TimeoutException as exc:
        return CallResult(
            "timeout", retryable=True, maybe_applied=True, detail=f"{what}: timed out ({type(exc).__name__})"
        )
    except httpx.ConnectError as exc:
        return CallResult("error", retryable=True, detail=f"{what}: cannot connect ({exc})")
    except httpx.TransportError as exc:
        return CallResult("error", retryable=True, maybe_applied=True, detail=f"{what}: {type(exc).__name__} ({exc})")
    except httpx.HTTPError as exc:  # an invalid URL or similar: a configuration error, not a transient one
        return CallResult("error", detail=f"{what}: {type(exc).__name__} ({exc})")
    if 200 <= response.status_code < 300:
        return response
    return failed_response(response, what)


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:DETAIL_CHARS] + ("..." if len(text) > DETAIL_CHARS else "")
