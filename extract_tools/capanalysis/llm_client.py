"""A minimal OpenAI-compatible chat-completions client (standard library only).

``POST {base_url}/chat/completions`` with ``{"model", "messages", ...}``;
reads ``choices[0].message.content`` and ``usage``. Retries HTTP 429/5xx and
connection errors with exponential backoff (``Retry-After`` honoured).
Works with OpenAI, Azure-style gateways, vLLM, llama.cpp, Ollama, LiteLLM.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY_ENV = "TFMODEL_LINT_LLM_API_KEY"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class LLMError(RuntimeError):
    """The request could not be completed (after retries)."""


class LLMConfigError(LLMError):
    """401/403/404 and the like: retrying will not help; stop the run."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def add(self, other: dict[str, Any]) -> None:
        self.prompt_tokens += int(other.get("prompt_tokens", 0) or 0)
        self.completion_tokens += int(other.get("completion_tokens", 0) or 0)


@dataclass
class ChatResponse:
    content: str
    usage: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class ChatClient:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 120.0
    max_http_retries: int = 4
    backoff: float = 2.0  # seconds; doubled per retry
    max_backoff: float = 60.0
    response_format: str = "json_object"  # json_object | json_schema | none
    usage: Usage = field(default_factory=Usage)

    @classmethod
    def from_env(cls, base_url: str, model: str, api_key_env: str = DEFAULT_API_KEY_ENV, **kw: Any) -> ChatClient:
        return cls(base_url=base_url, model=model, api_key=os.environ.get(api_key_env) or None, **kw)

    def _url(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.0,
        schema: dict[str, Any] | None = None,
        schema_name: str = "answer",
    ) -> ChatResponse:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": temperature}
        if self.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        elif self.response_format == "json_schema" and schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.max_http_retries + 1):
            req = urllib.request.Request(self._url(), data=data, headers=headers, method="POST")
            self.usage.requests += 1
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", errors="replace")[:500]
                last_error = f"HTTP {exc.code}: {detail}"
                if exc.code in {401, 403, 404}:
                    raise LLMConfigError(last_error) from exc
                if exc.code not in RETRY_STATUS or attempt == self.max_http_retries:
                    raise LLMError(last_error) from exc
                self._sleep(attempt, exc.headers.get("Retry-After") if exc.headers else None)
                continue
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt == self.max_http_retries:
                    raise LLMError(last_error) from exc
                self._sleep(attempt, None)
                continue
            except json.JSONDecodeError as exc:
                raise LLMError(f"the server's reply is not JSON: {exc}") from exc
            try:
                content = payload["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError) as exc:
                raise LLMError(f"unexpected reply shape: {str(payload)[:300]}") from exc
            usage = payload.get("usage") or {}
            self.usage.add(usage)
            return ChatResponse(content if isinstance(content, str) else json.dumps(content), usage, payload)
        raise LLMError(last_error or "no answer")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        delay = min(delay, self.max_backoff)
        if delay > 0:
            time.sleep(delay)
