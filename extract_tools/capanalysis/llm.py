"""CapAnalysis through an LLM: two rounds, votes, validation, cache, progress.

Round 1 puts an op into the 5 categories, round 2 into the 13 subcategories
of the categories round 1 chose. Each round asks ``votes`` times; a label is
kept when more than half of the valid votes chose it, and the agreement (the
share of votes equal to the majority) is recorded. Answers are validated
against a schema; a malformed answer is re-asked (with the error shown to the
model) up to ``max_format_retries`` times, after which that vote is given up.
Every valid answer is cached on disk under a key made of the op, the hash of
the evidence, the model, the prompt version, the round and the vote number, so
a rerun makes no request at all.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from extract_tools.capanalysis.evidence import OpEvidence
from extract_tools.capanalysis.llm_client import ChatClient, LLMConfigError, LLMError
from extract_tools.capanalysis.prompts import (
    PROMPT_VERSION,
    ROUND1_SCHEMA,
    ROUND2_SCHEMA,
    round1_messages,
    round2_messages,
    validate,
)
from extract_tools.capanalysis.taxonomy import ALL_SUBCATEGORIES, CAPABILITIES, CATEGORIES


class AnswerCache:
    """One JSON file per answer under *root* (``ab/abcdef....json``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(**parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        p = self._path(key)
        if not p.exists():
            self.misses += 1
            return None
        try:
            data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: str, value: dict[str, Any]) -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(value, sort_keys=True, indent=1), encoding="utf-8")
        tmp.replace(p)


@dataclass
class Progress:
    total: int
    stream: TextIO | None = None
    price_in: float = 0.0  # per million prompt tokens
    price_out: float = 0.0  # per million completion tokens
    done: int = 0

    def line(self, op: str, note: str, client: ChatClient | None, cache: AnswerCache | None) -> None:
        out = self.stream if self.stream is not None else sys.stderr
        tokens = ""
        if client is not None:
            u = client.usage
            tokens = f" | {u.requests} req, {u.prompt_tokens} in / {u.completion_tokens} out tokens"
            if self.price_in or self.price_out:
                cost = u.prompt_tokens / 1e6 * self.price_in + u.completion_tokens / 1e6 * self.price_out
                tokens += f", ${cost:.4f}"
        cached = f", cache {cache.hits} hit / {cache.misses} miss" if cache is not None else ""
        print(f"[{self.done}/{self.total}] {op}: {note}{tokens}{cached}", file=out, flush=True)


@dataclass
class RoundResult:
    votes: list[list[str]] = field(default_factory=list)  # valid votes only
    targets: list[list[str]] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    majority: list[str] = field(default_factory=list)
    agreement: float = 0.0


@dataclass
class LLMResult:
    op: str
    code_hash: str
    model: str
    prompt_version: str
    status: str  # ok | failed
    round1: RoundResult
    round2: RoundResult
    targets: list[str] = field(default_factory=list)

    @property
    def subcategories(self) -> list[str]:
        return self.round2.majority

    @property
    def capabilities(self) -> list[str]:
        have = set(self.round2.majority)
        return [c for c in CAPABILITIES if c in have]

    def to_json(self) -> dict[str, Any]:
        def rr(r: RoundResult) -> dict[str, Any]:
            return {"votes": r.votes, "majority": r.majority, "agreement": round(r.agreement, 3), "errors": r.errors}

        return {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "code_hash": self.code_hash,
            "status": self.status,
            "round1": rr(self.round1),
            "round2": rr(self.round2),
            "capabilities": self.capabilities,
            "targets": self.targets,
        }


def majority(votes: list[list[str]], order: tuple[str, ...] | list[str]) -> tuple[list[str], float]:
    """Labels chosen by more than half of the votes (plurality set if none),
    and the share of votes identical to the result."""
    if not votes:
        return [], 0.0
    counts = Counter(label for v in votes for label in set(v))
    chosen = {label for label, n in counts.items() if n * 2 > len(votes)}
    if not chosen:
        sets = Counter(tuple(sorted(set(v))) for v in votes)
        chosen = set(sets.most_common(1)[0][0])
    rank = {label: i for i, label in enumerate(order)}
    result = sorted(chosen, key=lambda x: (rank.get(x, len(rank)), x))
    agreement = sum(1 for v in votes if set(v) == chosen) / len(votes)
    return result, agreement


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def parse_answer(content: str) -> object:
    """JSON from a model reply: tolerates code fences and <think> blocks."""
    text = re.sub(r"<think>.*?</think>", "", content, flags=re.S).strip()
    text = _FENCE.sub("", text).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            return json.loads(text[start : end + 1])
        raise


class LLMClassifier:
    def __init__(
        self,
        client: ChatClient,
        *,
        cache: AnswerCache | None = None,
        votes: int = 1,
        temperature: float | None = None,
        max_format_retries: int = 2,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.votes = max(1, votes)
        self.temperature = temperature if temperature is not None else (0.0 if self.votes == 1 else 0.7)
        self.max_format_retries = max_format_retries
        self.progress = progress

    def _ask(
        self, messages: list[dict[str, str]], schema: dict[str, Any], key: str | None, note: str, op: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        if key and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None and not validate(hit.get("answer"), schema):
                self._progress(op, f"{note} (cached)")
                answer: dict[str, Any] = hit["answer"]
                return answer, None
        convo = list(messages)
        error = "no answer"
        for attempt in range(self.max_format_retries + 1):
            try:
                resp = self.client.chat(
                    convo, temperature=self.temperature, schema=schema, schema_name=note.split(maxsplit=1)[0]
                )
            except LLMConfigError:
                raise
            except LLMError as exc:
                self._progress(op, f"{note}: request failed: {exc}")
                return None, f"request failed: {exc}"
            try:
                answer_obj = parse_answer(resp.content)
                problems = validate(answer_obj, schema)
            except (json.JSONDecodeError, ValueError) as exc:
                answer_obj, problems = None, [f"not JSON ({exc.__class__.__name__}: {exc})"]
            if not problems and isinstance(answer_obj, dict):
                if key and self.cache is not None:
                    self.cache.put(key, {"answer": answer_obj, "usage": resp.usage, "model": self.client.model})
                self._progress(op, note)
                return answer_obj, None
            error = "; ".join(problems)
            self._progress(op, f"{note}: malformed answer (attempt {attempt + 1}): {error}")
            convo = convo + [
                {"role": "assistant", "content": resp.content[:2000]},
                {
                    "role": "user",
                    "content": f"That answer is not valid ({error}). "
                    "Reply again with only the JSON object in the required format.",
                },
            ]
        return None, f"malformed answer after {self.max_format_retries + 1} attempts: {error}"

    def _progress(self, op: str, note: str) -> None:
        if self.progress is not None:
            self.progress.line(op, note, self.client, self.cache)

    def classify(self, ev: OpEvidence) -> LLMResult:
        code_hash = ev.code_hash()
        base = {"op": ev.op, "code_hash": code_hash, "model": self.client.model, "prompt_version": PROMPT_VERSION}
        r1 = RoundResult()
        msgs1 = round1_messages(ev)
        for i in range(self.votes):
            key = AnswerCache.key(**base, round=1, vote=i, temperature=self.temperature)
            ans, err = self._ask(msgs1, ROUND1_SCHEMA, key, f"round1 vote {i + 1}/{self.votes}", ev.op)
            if ans is None:
                r1.errors.append(err or "?")
                continue
            r1.votes.append(list(ans["categories"]))
            r1.reasoning.append(str(ans["reasoning"]))
        r1.majority, r1.agreement = majority(r1.votes, CATEGORIES)
        r2 = RoundResult()
        if r1.majority:
            msgs2 = round2_messages(ev, r1.majority)
            for i in range(self.votes):
                key = AnswerCache.key(**base, round=2, vote=i, temperature=self.temperature, round1=r1.majority)
                ans, err = self._ask(msgs2, ROUND2_SCHEMA, key, f"round2 vote {i + 1}/{self.votes}", ev.op)
                if ans is None:
                    r2.errors.append(err or "?")
                    continue
                r2.votes.append(list(ans["subcategories"]))
                r2.targets.append([str(t) for t in ans.get("target_arguments", [])])
                r2.reasoning.append(str(ans["reasoning"]))
            r2.majority, r2.agreement = majority(r2.votes, ALL_SUBCATEGORIES)
        targets, _ = majority(r2.targets, sorted({t for v in r2.targets for t in v})) if r2.targets else ([], 0.0)
        status = "ok" if r1.votes and r2.votes else "failed"
        if self.progress is not None:
            self.progress.done += 1
            self._progress(ev.op, f"{status}: {', '.join(r2.majority) or '-'} (agreement {r2.agreement:.2f})")
        return LLMResult(ev.op, code_hash, self.client.model, PROMPT_VERSION, status, r1, r2, targets)
