"""The LLM client and CapAnalysis rounds against a real HTTP server on loopback
that speaks the chat-completions protocol."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from extract_tools.capanalysis.evidence import Arg, OpEvidence
from extract_tools.capanalysis.llm import AnswerCache, LLMClassifier, Progress, majority, parse_answer
from extract_tools.capanalysis.llm_client import ChatClient, LLMConfigError, LLMError
from extract_tools.capanalysis.prompts import PROMPT_VERSION, ROUND1_SCHEMA, round1_messages, round2_messages, validate

# A reply is (status, content or None for a 5xx body, extra headers).
Reply = tuple[int, str, dict[str, str]]


@dataclass
class Script:
    """Replies in order; when they run out, ``default(request)`` answers."""

    replies: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def ok(content: object) -> Reply:
    return (200, content if isinstance(content, str) else json.dumps(content), {})


def round_of(request: dict[str, Any]) -> int:
    return 1 if request["messages"][1]["content"].startswith("Round 1") else 2


def answer_for(r1: list[str], r2: list[str], targets: list[str] | None = None) -> Callable[[dict[str, Any]], Reply]:
    def f(req: dict[str, Any]) -> Reply:
        if round_of(req) == 1:
            return ok({"reasoning": "step by step", "categories": r1})
        return ok({"reasoning": "step by step", "subcategories": r2, "target_arguments": targets or []})

    return f


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            script.requests.append(body)
            script.headers.append(dict(self.headers))
            extra: dict[str, str] = {}
            if self.path != "/v1/chat/completions":
                status, content = 404, "not found"
            elif script.replies:
                status, content, extra = script.replies.pop(0)
            elif script.default is not None:
                status, content, extra = script.default(body)
            else:
                status, content, extra = 500, "no scripted reply", {}
            if status == 200:
                payload = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
                data = json.dumps(payload).encode()
            else:
                data = json.dumps({"error": {"message": content}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


EV = OpEvidence(
    "ReadFile",
    python_apis=["tensorflow/python/ops/gen_io_ops.py:read_file"],
    docstring="Reads and outputs the entire contents of the input filename.",
    args=[Arg("filename", "input", "string")],
    kernel_source="void Compute(OpKernelContext* ctx) override { ReadFileToString(ctx->env(), fn, &out); }",
    op_requires=["OP_REQUIRES(context, TensorShapeUtils::IsScalar(input->shape()), ...)"],
)


def client(url: str, **kw: Any) -> ChatClient:
    kw.setdefault("backoff", 0.0)
    return ChatClient(base_url=url, model="test-model", **kw)


def test_two_rounds_happy_path(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.default = answer_for(["file_access"], ["file_read"], ["filename"])
    out = io.StringIO()
    c = client(url)
    clf = LLMClassifier(c, cache=AnswerCache(tmp_path), progress=Progress(1, stream=out, price_in=1.0, price_out=2.0))
    r = clf.classify(EV)
    assert r.status == "ok"
    assert (r.round1.majority, r.subcategories, r.capabilities, r.targets) == (
        ["file_access"],
        ["file_read"],
        ["file_read"],
        ["filename"],
    )
    assert len(script.requests) == 2
    first = script.requests[0]
    assert first["model"] == "test-model" and first["response_format"] == {"type": "json_object"}
    # the evidence, the kernel checks and a few-shot example are in the prompt
    assert "ReadFileToString" in first["messages"][-1]["content"] and "OP_REQUIRES" in first["messages"][-1]["content"]
    assert any("MatchingFiles" in m["content"] for m in first["messages"])
    assert "file_access" in script.requests[1]["messages"][1]["content"]  # round 2 sees round 1's answer
    assert c.usage.prompt_tokens == 200 and c.usage.completion_tokens == 40
    log = out.getvalue()
    assert "[1/1] ReadFile: ok: file_read" in log and "200 in / 40 out tokens" in log and "$0.0003" in log


def test_votes_majority_and_agreement(server: tuple[str, Script]) -> None:
    url, script = server
    r1 = [
        ok({"reasoning": "r", "categories": c})
        for c in (["file_access"], ["file_access", "network_access"], ["file_access"])
    ]
    r2 = [
        ok({"reasoning": "r", "subcategories": s, "target_arguments": t})
        for s, t in ((["file_read"], ["filename"]), (["file_read", "file_write"], ["filename"]), (["file_read"], []))
    ]
    script.replies = r1 + r2
    r = LLMClassifier(client(url), votes=3).classify(EV)
    assert r.round1.votes == [["file_access"], ["file_access", "network_access"], ["file_access"]]
    assert r.round1.majority == ["file_access"] and r.round1.agreement == pytest.approx(2 / 3)
    assert r.subcategories == ["file_read"] and r.round2.agreement == pytest.approx(2 / 3)
    assert r.targets == ["filename"]
    assert all(req["temperature"] == 0.7 for req in script.requests)  # votes need sampling
    j = r.to_json()
    assert j["round2"]["agreement"] == 0.667 and j["prompt_version"] == PROMPT_VERSION


def test_malformed_then_valid_is_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [
        ok("I think it reads a file."),  # not JSON
        ok({"reasoning": "r", "categories": ["file_stuff"]}),  # JSON, fails the schema
        ok('```json\n{"reasoning": "r", "categories": ["file_access"]}\n```'),  # fenced: accepted
    ]
    script.default = answer_for(["file_access"], ["file_read"])
    r = LLMClassifier(client(url), max_format_retries=2).classify(EV)
    assert r.status == "ok" and r.round1.majority == ["file_access"]
    # the retry shows the model its answer and what was wrong with it
    retry = script.requests[2]["messages"]
    assert retry[-2]["content"].startswith('{"reasoning": "r", "categories": ["file_stuff"]}')
    assert "not valid" in retry[-1]["content"] and "file_stuff" in retry[-1]["content"]


def test_always_malformed_gives_up_cleanly(server: tuple[str, Script]) -> None:
    url, script = server
    script.default = lambda req: ok("{not json")
    r = LLMClassifier(client(url), max_format_retries=1, votes=2).classify(EV)
    assert r.status == "failed"
    assert r.round1.votes == [] and len(r.round1.errors) == 2
    assert "malformed answer after 2 attempts" in r.round1.errors[0]
    assert len(script.requests) == 4  # 2 votes x 2 attempts, no round 2
    assert r.capabilities == []


def test_http_500_and_429_are_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(500, "overloaded", {}), (429, "slow down", {"Retry-After": "0"}), (503, "again", {})]
    script.default = answer_for(["network_access"], ["network_send"])
    c = client(url, max_http_retries=3)
    r = LLMClassifier(c).classify(EV)
    assert r.status == "ok" and r.capabilities == ["network_send"]
    assert c.usage.requests == 5


def test_persistent_500_fails_the_vote_not_the_run(server: tuple[str, Script]) -> None:
    url, script = server
    script.default = lambda req: (500, "down", {})
    c = client(url, max_http_retries=2)
    r = LLMClassifier(c).classify(EV)
    assert r.status == "failed" and "HTTP 500" in r.round1.errors[0]
    assert len(script.requests) == 3
    with pytest.raises(LLMError):
        c.chat([{"role": "user", "content": "x"}])


def test_auth_errors_stop_the_run(server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch) -> None:
    url, script = server
    monkeypatch.setenv("MY_TEST_KEY", "sk-test-123")
    c = ChatClient.from_env(url, "test-model", "MY_TEST_KEY", backoff=0.0)
    script.replies = [(401, "bad key", {})]
    with pytest.raises(LLMConfigError):
        LLMClassifier(c).classify(EV)
    assert script.headers[0]["Authorization"] == "Bearer sk-test-123"
    assert len(script.requests) == 1
    with pytest.raises(LLMConfigError):  # wrong path -> 404 -> configuration error
        ChatClient(base_url=url.removesuffix("/v1") + "/wrong", model="m", backoff=0.0).chat(
            [{"role": "user", "content": "x"}]
        )


def test_cache_second_run_makes_no_request(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.default = answer_for(["file_access"], ["file_read"])
    first = LLMClassifier(client(url), cache=AnswerCache(tmp_path / "cache"), votes=2).classify(EV)
    assert len(script.requests) == 4
    cache = AnswerCache(tmp_path / "cache")
    c2 = client(url)
    second = LLMClassifier(c2, cache=cache, votes=2).classify(EV)
    assert len(script.requests) == 4 and c2.usage.requests == 0
    assert cache.hits == 4 and second.to_json() == first.to_json()
    # another model, or changed evidence, is a miss
    LLMClassifier(ChatClient(base_url=url, model="other", backoff=0.0), cache=cache).classify(EV)
    assert len(script.requests) == 6
    changed = OpEvidence("ReadFile", docstring="Changed docs.")
    LLMClassifier(client(url), cache=cache).classify(changed)
    assert len(script.requests) == 8


def test_json_schema_response_format(server: tuple[str, Script]) -> None:
    url, script = server
    script.default = answer_for(["pure_calculation"], ["math"])
    r = LLMClassifier(client(url, response_format="json_schema")).classify(EV)
    assert r.capabilities == [] and r.subcategories == ["math"]
    rf = script.requests[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"] == ROUND1_SCHEMA


def test_helpers() -> None:
    labels, agreement = majority([["a"], ["a", "b"], ["b"]], ["a", "b"])
    assert labels == ["a", "b"] and agreement == pytest.approx(1 / 3)
    assert majority([["b"], ["a"]], ["a", "b"])[0] in (["a"], ["b"])  # no majority: plurality set
    assert majority([], ["a"]) == ([], 0.0)
    assert parse_answer('<think>hmm</think>\n{"a": 1}') == {"a": 1}
    assert parse_answer('Sure! {"a": 1} Done.') == {"a": 1}
    assert validate({"reasoning": "x", "categories": []}, ROUND1_SCHEMA) == ["'categories' needs at least 1 item(s)"]
    assert validate({"reasoning": "x", "categories": ["math"], "extra": 1}, ROUND1_SCHEMA)
    assert "ReadFile" in round1_messages(EV)[-1]["content"]
    assert "Subcategories of those categories:\nfile_access:" in round2_messages(EV, ["file_access"])[1]["content"]


def test_regenerate_with_llm_marks_disagreements(
    server: tuple[str, Script], tmp_path: Path, fake_tf_site: Path
) -> None:
    from extract_tools import inputs, regenerate, review
    from extract_tools.registry import parse_dump

    url, script = server
    labels = {
        "ReadFile": (["file_access"], ["file_read"]),
        "HiddenWrite": (["network_access"], ["network_send"]),  # the offline classifier says file_write
        "LMDBReader": (["file_access"], ["file_read"]),
        "PyFunc": (["code_execution"], ["code_execution"]),
        "SleepOp": (["process_management"], ["process_sleep"]),
        "MatchingFiles": (["file_access"], ["dir_read"]),
    }

    def reply(req: dict[str, Any]) -> Reply:
        op = req["messages"][-1]["content"].split("\n", 1)[0].removeprefix("Operation: ")
        r1, r2 = labels[op]
        return answer_for(r1, r2)(req)

    script.default = reply
    s = {"type": "DT_STRING"}
    reg = parse_dump(
        {
            "tf_version": "9.9.9",
            "ops": [
                {"name": "ReadFile", "input_arg": [{"name": "filename", **s}]},
                {"name": "HiddenWrite", "input_arg": [{"name": "filename", **s}, {"name": "contents", **s}]},
            ],
        }
    )
    (tmp_path / "registry.json").write_text(json.dumps(reg.to_json()))
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "v1.0.0").write_text("read_file,  ReadFile,  tensorflow-v1.0.0/tensorflow/python/ops/gen_io_ops.py\n")
    decisions = review.Decisions()
    decisions.items["ReadFile"] = review.Decision(
        "ReadFile", "accept", ["file_read"], [{"name": "filename", "role": "path"}], [], "Reads.", reason="r"
    )
    decisions.save(tmp_path / "decisions.json")
    out = tmp_path / "signatures"
    out.mkdir()
    inputs.save_presence(inputs.presence_from_dir(refs), tmp_path / "presence.json")
    inputs.save_threat_model([], "fixture", tmp_path / "tm.json")
    opts = regenerate.Options(
        tf_root=fake_tf_site,
        registry_file=tmp_path / "registry.json",
        presence_file=tmp_path / "presence.json",
        threat_model_file=tmp_path / "tm.json",
        addon_data_dir=tmp_path / "no-addons",
        report_dir=tmp_path / "reports",
        out=out,
        classifier="llm",
        decisions=tmp_path / "decisions.json",
        queue=tmp_path / "queue.json",
        data_dir=tmp_path / "data",
        work_dir=tmp_path / "work",
        llm=regenerate.LLMOptions(base_url=url, model="test-model", cache_dir=tmp_path / "cache", backoff=0.0),
    )
    assert regenerate.run(opts) == 0
    assert len(script.requests) == 2 * len(labels)
    queue = {e["op"]: e for e in json.loads(opts.queue.read_text())["entries"]}
    assert queue["HiddenWrite"]["reason"] == "disagree"
    assert (queue["HiddenWrite"]["offline"], queue["HiddenWrite"]["llm"]) == (["file_write"], ["network_send"])
    assert queue["LMDBReader"]["reason"] == "new" and queue["LMDBReader"]["llm"] == ["file_read"]
    assert "ReadFile" not in queue  # decided, and the classifiers agree with the decision
    trail = json.loads((opts.data_dir / "provenance_9.9.9.json").read_text())
    assert trail["ops"]["ReadFile"]["llm"]["round2"]["votes"] == [["file_read"]]
    # the evidence is the union of both classifiers: HiddenWrite is published with both views
    published = json.loads((out / "tf_ops.json").read_text())["ops"]
    assert published["HiddenWrite"]["categories"] == ["file_write", "network_send"]
    # a rerun costs nothing: every answer comes from the cache
    assert regenerate.run(opts) == 0
    assert len(script.requests) == 2 * len(labels)
