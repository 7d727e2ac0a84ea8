#!/usr/bin/env python3
"""Contract fuzz: Schemathesis against a running Kring server on the demo libraries (Deploy/dev.sh).

Usage: Deploy/contract-fuzz.sh BASE_URL [options]   (installs Schemathesis, then runs this file)

Logs in each demo role of `zuid-kennemerland` (right before its run: access tokens live 15 minutes), one API key
with every scope (created by the demo tenant admin), the platform administrator, and finally no credential at all
for the public routes (health, metrics, this document, login, refresh, first password, the pages behind the links
in mails). Each credential runs `schemathesis run` over the operations its permissions reach, once in positive and
once in negative mode, with a fixed seed and a bounded number of examples per operation, and these checks:
not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance.

Not fuzzed: `POST /api/v1/auth/logout` (it would end the session the run uses), and `two_factor_required` in
`PATCH /api/v1/settings` (turned on, it would refuse the password logins of the runs after it). Values that earlier responses
answered are fed back as inputs (Schemathesis' extra data sources), except for the operations that could lock the
run out of its own credentials (`PATCH /users/{id}`, `DELETE /api-keys/{id}`, `PATCH /admin/tenants/{slug}`): these
get generated ids only. The platform administrator runs last but the public routes, since the document's example
slug makes it suspend or rename `zuid-kennemerland`; the libraries' status and names are put back after its run.

It changes the server's data (it creates customers, campaigns, staff invitations, a library or two, ...), and its
failed logins slow down later logins from 127.0.0.1 for a while (the login throttle): run it on a scratch server,
as `Deploy/smoke.sh --contract-fuzz` (part of Deploy/test.sh) does, or on a dev server whose data you can lose.

Prints one line per run and a capped list of the distinct failures (one check failing on one operation with one
status, with the server's problem details); exits 1 when there is any failure or error. Everything (the
Schemathesis output and NDJSON events of each run, every failure with a curl command in failures.txt and
failures.json) is written under --out (default: a fresh /tmp/kring-contract-fuzz.* folder). Also written there, but
not a failure: positive-400.txt, the schema-valid inputs the server answered 400 (where the document is looser than
the server, e.g. an empty `after` cursor).
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml  # PyYAML, a dependency of Schemathesis

TENANT = "zuid-kennemerland"
PASSWORD = os.environ.get("KRING_DEMO_PASSWORD", "demo-wachtwoord-2026")
DEMO_TOTP_SECRET = os.environ.get("KRING_DEMO_TOTP_SECRET", "kringDemoProbiblio2026")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MODES = ("positive", "negative")
# Ends the very session the run authenticates with.
NEVER = {"logout"}
# Fed only generated values (no ids from earlier responses): each could lock the run out of its own credential
# (demote or disable a demo user, revoke the run's API key, suspend its library).
NO_CAPTURED_INPUTS = ("updateUser", "revokeApiKey", "updateTenant")
# The tenant admin runs last of the staff: its run invites staff (also as tenant_admin) and changes settings.
STAFF = ("frontdesk", "marketing", "relations", "analyst", "tenant_admin")
STAFF_EMAIL = {role: f"{'admin' if role == 'tenant_admin' else role}@{TENANT}.example" for role in STAFF}
API_KEY_SCOPES = ["customers:read", "customers:write", "imports:write", "registrations:write", "email-events:write"]
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def totp(secret, at=None):
    """The code an authenticator app shows for `secret` (RFC 6238: HMAC-SHA1, 30 s, 6 digits)."""
    import hashlib, hmac, struct
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret.encode(), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


class SetupError(Exception):
    """A request of the fuzz's own (log in, create the API key, put the libraries back) failed."""


class Server:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body=None, token: str | None = None, retries: int = 3):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(retries + 1):
            request = urllib.request.Request(self.base + path, method=method, data=data)
            if data is not None:
                request.add_header("content-type", "application/json")
            if token:
                request.add_header("authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    raw = response.read()
                    return json.loads(raw) if raw and "json" in response.headers.get("content-type", "") else raw
            except urllib.error.HTTPError as error:
                if error.code == 429 and attempt < retries:
                    wait = min(int(error.headers.get("retry-after") or 30), 120)
                    print(f"contract-fuzz: {method} {path} answered 429, waiting {wait} s", flush=True)
                    time.sleep(wait)
                    continue
                detail = error.read().decode(errors="replace")[:300]
                raise SetupError(f"{method} {path} answered {error.code}: {detail}")

    def login(self, email: str, tenant: str | None) -> str:
        body = {"email": email, "password": PASSWORD} | ({"tenant": tenant} if tenant else {})
        if tenant is None:
            # Platform administrators sign in with two-factor; a code works once, so wait for the app's next one.
            time.sleep(30 - time.time() % 30 + 0.5)
            body["totp_code"] = totp(DEMO_TOTP_SECRET)
        return self.call("POST", "/api/v1/auth/login", body)["access_token"]

    def permissions(self, token: str) -> set[str]:
        return set(self.call("GET", "/api/v1/me", token=token)["permissions"])


# Request body fields the fuzz never sets: `two_factor_required: true` would make every later password login of the
# library answer 403 (two-factor must be set up in the web app first), so the runs after it could not log in. The
# setting is tested in AdminPagesTests and WebHardeningTests instead.
LOCKOUT_FIELDS = {("/api/v1/settings", "patch"): ["two_factor_required"]}


def without_lockouts(spec_file: Path, work: Path) -> Path:
    """The document as the fuzz uses it: without the request body fields of LOCKOUT_FIELDS."""
    spec = yaml.safe_load(spec_file.read_text())
    for (path, method), fields in LOCKOUT_FIELDS.items():
        operation = spec.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        for field in fields:
            schema.get("properties", {}).pop(field, None)
            if field in schema.get("required", []):
                schema["required"].remove(field)
    fuzzed = work / "openapi-fuzzed.yaml"
    fuzzed.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return fuzzed


def operations(spec: dict) -> list[dict]:
    """Every operation with its id, whether it is public, and the permission its description names."""
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            security = op.get("security", spec.get("security"))
            description = op.get("description", "")
            # "Requires permission `x`"; the mail provider's webhook names the API key scope instead.
            match = re.search(r"[Pp]ermission\s+`([a-z-]+:[a-z-]+)`", description) \
                or re.search(r"scope\s+`([a-z-]+:[a-z-]+)`", description)
            found.append({
                "id": op["operationId"], "label": f"{method.upper()} {path}",
                "public": security == [], "permission": match.group(1) if match else None,
            })
    return found


def select(ops: list[dict], permissions: set[str] | None, all_operations: bool) -> list[str]:
    """The operations one credential runs: the public ones (permissions None), or the protected ones it may call
    (all of them with --all-operations; an operation whose permission the document does not name is always in)."""
    if permissions is None:
        return [op["id"] for op in ops if op["public"]]
    return [op["id"] for op in ops if not op["public"] and op["id"] not in NEVER
            and (all_operations or op["permission"] is None or op["permission"] in permissions)]


CONFIG = """\
# Written by Deploy/contract-fuzz.py for one run of `schemathesis run`.
[[operations]]
include-operation-id = {ids}
phases.examples.extra-data-sources.responses = false
phases.coverage.extra-data-sources.responses = false
phases.fuzzing.extra-data-sources.responses = false
"""


def run_schemathesis(args, work: Path, name: str, mode: str, ids: list[str], token: str | None) -> dict:
    tag = f"{name}-{mode}"
    events = work / f"{tag}.ndjson"
    log = work / f"{tag}.log"
    config = work / "schemathesis.toml"
    config.write_text(CONFIG.format(ids=json.dumps(list(NO_CAPTURED_INPUTS))))
    command = [
        args.schemathesis, "--config-file", str(config), "run", str(args.spec_file), "--url", args.base_url,
        "--checks", CHECKS, "--mode", mode, "--max-examples", str(args.examples), "--seed", str(args.seed),
        "--phases", args.phases, "--workers", str(args.workers), "--request-timeout", "30",
        "--generation-database", "none", "--suppress-health-check", "all", "--no-color",
        "--continue-on-failure", *args.extra,
        "--report", "ndjson", "--report-ndjson-path", str(events),
        "--include-operation-id-regex", "^(" + "|".join(map(re.escape, ids)) + ")$",
    ]
    shown = list(command)
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
        shown += ["--header", "Authorization: Bearer $TOKEN"]
    started = time.monotonic()
    with open(log, "w") as out:
        out.write("$ " + shlex.join(shown) + "\n\n")
        out.flush()
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=os.environ | {"NO_COLOR": "1"})
    elapsed = time.monotonic() - started
    if events.exists():
        result = parse_events(events)
        with open(events, "rb") as raw, gzip.open(f"{events}.gz", "wb") as packed:  # about a tenth of the size
            shutil.copyfileobj(raw, packed)
        events.unlink()
    else:
        result = {"cases": 0, "failures": [], "errors": [], "fatal": True, "rejected": []}
    if code not in (0, 1) or result.get("fatal"):
        result["errors"].append({"operation": "(run)", "title": f"schemathesis exited {code}; see {log}"})
    return result | {"name": name, "mode": mode, "operations": len(ids), "seconds": elapsed, "exit": code, "log": str(log)}


def body_text(content) -> str:
    if isinstance(content, dict) and "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", errors="replace")
    return content if isinstance(content, str) else ("" if content is None else json.dumps(content))


def curl(request: dict) -> str:
    parts = ["curl", "-sS", "-X", request.get("method", "GET"), request.get("uri", "")]
    for header, values in (request.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            if header.lower() == "authorization":
                value = "Bearer $TOKEN"
            parts += ["-H", f"{header}: {value}"]
    body = request.get("body")
    if body is not None:
        parts += ["--data-binary", body_text(body)]
    return shlex.join(parts)


def parse_events(path: Path) -> dict:
    """Failures and errors from the NDJSON event stream of one run."""
    cases = 0
    failures, errors, fatal, rejected = [], [], False, []
    seen = set()
    with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as stream:
        for line in stream:
            event = json.loads(line)
            kind, data = next(iter(event.items()))
            if kind == "ScenarioFinished":
                recorder = data.get("recorder") or {}
                cases += len(recorder.get("cases") or {})
                for case_id, interaction in (recorder.get("interactions") or {}).items():
                    case = ((recorder.get("cases") or {}).get(case_id) or {}).get("value") or {}
                    response = interaction.get("response") or {}
                    if response.get("status_code") == 400 and \
                            ((case.get("meta") or {}).get("generation") or {}).get("mode") == "positive":
                        request = interaction.get("request") or {}
                        rejected.append({"operation": recorder.get("label"), "curl": curl(request),
                                         "response_body": body_text(response.get("content"))[:2000]})
                for case_id, checks in (recorder.get("checks") or {}).items():
                    for check in checks:
                        if check.get("status") != "failure":
                            continue
                        info = (check.get("failure_info") or {}).get("failure") or {}
                        interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                        response = interaction.get("response") or {}
                        request = interaction.get("request") or {}
                        case = ((recorder.get("cases") or {}).get(case_id) or {}).get("value") or {}
                        phase = ((case.get("meta") or {}).get("phase") or {})
                        key = (case_id, check.get("name"), info.get("title"))
                        if key in seen:
                            continue
                        seen.add(key)
                        failures.append({
                            "operation": info.get("operation") or recorder.get("label"),
                            "check": check.get("name"), "code": info.get("code"), "title": info.get("title"),
                            "message": (info.get("message") or "").strip(), "status": response.get("status_code"),
                            "case_mode": ((case.get("meta") or {}).get("generation") or {}).get("mode"),
                            "phase": phase.get("name"), "scenario": (phase.get("data") or {}).get("description"),
                            "request": f"{request.get('method')} {request.get('uri')}",
                            "request_body": body_text(request.get("body"))[:2000],
                            "response_body": body_text(response.get("content"))[:2000],
                            "curl": curl(request),
                        })
            elif kind == "NonFatalError":
                value = data.get("value") or {}
                errors.append({"operation": data.get("label") or "?",
                               "title": (value.get("title") or value.get("message") or json.dumps(value))[:300]})
            elif kind == "FatalError":
                fatal = True
                errors.append({"operation": "(run)", "title": json.dumps(data)[:300]})
    return {"cases": cases, "failures": failures, "errors": errors, "fatal": fatal, "rejected": rejected}


def short(failure: dict) -> str:
    """The check's message in one line; a schema error without the (long) value it is about."""
    lines = failure["message"].splitlines()
    first = lines[0].strip() if lines else ""
    if failure["code"] == "ST108":
        # '<value> is not of type "string"', '<value> is a required property' (the value is then the name), ...
        match = re.search(r"^(?:[\[{].*?|.*?) ((?:is|does|was|has|should|must)\b.*)$", first)
        if match and first[:1] in "[{":
            first = "value " + match.group(1)
        schema = failure["message"].split("Schema:", 1)[-1] if "Schema:" in failure["message"] else ""
        schema = " ".join(schema.split("Value:", 1)[0].split())
        if schema:
            first += f"; schema {schema[:120]}"
    elif failure["code"] == "ST103":
        documented = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("Documented:")), "?")
        first = f"not documented (documented: {documented})"
    return first if len(first) <= 200 else first[:90] + " ... " + first[-100:]


def detail(failure: dict) -> str:
    """The `detail` (and field errors) of a problem document in the response, if it is one."""
    try:
        problem = json.loads(failure["response_body"])
    except ValueError:
        return ""
    if not isinstance(problem, dict) or "detail" not in problem:
        return ""
    fields = ", ".join(f"{e.get('field')}: {e.get('message')}" for e in problem.get("errors") or [] if isinstance(e, dict))
    return str(problem["detail"])[:120] + (f" [{fields[:120]}]" if fields else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", nargs="?", help="the running server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--summarize", metavar="DIR", help="print the summary of an earlier run's folder again, run nothing")
    parser.add_argument("--spec", help="a local openapi.yaml instead of the one the server serves")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("KRING_FUZZ_EXAMPLES", 10)),
                        help="examples per operation in the fuzzing phase (default 10)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("KRING_FUZZ_SEED", 2026)))
    # One worker: with two threads CPython 3.11's compile() now and then fails inside Schemathesis
    # ("SystemError: AST constructor recursion depth mismatch"), and the order of the cases stays fixed.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--only", help="comma-separated runs: " + ",".join(STAFF + ("api_key", "platform_admin", "public")))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--all-operations", action="store_true",
                        help="every credential runs every protected operation, also the ones it may not call")
    parser.add_argument("--schemathesis-option", dest="extra", action="append", default=[], metavar="OPTION",
                        help="one more option for `schemathesis run`, e.g. --schemathesis-option=--continue-on-failure")
    parser.add_argument("--show", type=int, default=40, help="distinct failures to print (the rest go to the file)")
    parser.add_argument("--out", help="folder for the reports (default: a fresh /tmp/kring-contract-fuzz.*)")
    args = parser.parse_args()
    if args.summarize:
        work = Path(args.summarize)
        results = [parse_events(events) | {"name": events.name.split(".")[0].rsplit("-", 1)[0],
                                           "mode": events.name.split(".")[0].rsplit("-", 1)[1]}
                   for events in sorted(work.glob("*.ndjson*"))]
        return report(results, work, 0, args.show)
    if not args.base_url:
        parser.error("give the server's BASE_URL")
    args.base_url = args.base_url.rstrip("/")
    args.schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if not args.schemathesis:
        return print("contract-fuzz: schemathesis is not installed (Deploy/contract-fuzz.sh installs it)", file=sys.stderr) or 2
    version = subprocess.run([args.schemathesis, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="kring-contract-fuzz."))
    work.mkdir(parents=True, exist_ok=True)
    server = Server(args.base_url)

    if args.spec:
        args.spec_file = Path(args.spec).resolve()
    else:
        args.spec_file = work / "openapi.yaml"
        args.spec_file.write_bytes(server.call("GET", "/api/v1/openapi.yaml"))
    args.spec_file = without_lockouts(args.spec_file, work)
    ops = operations(yaml.safe_load(args.spec_file.read_text()))
    wanted = set(args.only.split(",")) if args.only else None
    modes = args.modes.split(",")
    print(f"contract-fuzz: {args.base_url}, schemathesis {version}, seed {args.seed}, phases {args.phases} with "
          f"{args.examples} fuzzed examples per operation, {len(ops)} operations; reports in {work}", flush=True)

    results = []
    begun = time.monotonic()

    def run(name: str, credential):
        """credential: a function answering a fresh token (None for the public routes)."""
        if wanted is not None and name not in wanted:
            return
        for mode in modes:
            try:
                token = credential() if credential else None
                permissions = server.permissions(token) if token else None
            except SetupError as error:
                results.append({"name": name, "mode": mode, "operations": 0, "cases": 0, "failures": [], "seconds": 0,
                                "errors": [{"operation": "(setup)", "title": str(error)}]})
                print(f"  {name:<15} {mode:<8} not run: {error}", flush=True)
                continue
            ids = select(ops, permissions, args.all_operations)
            result = run_schemathesis(args, work, name, mode, ids, token)
            results.append(result)
            print(f"  {name:<15} {mode:<8} {result['operations']:>3} operations {result['cases']:>5} cases "
                  f"{len(result['failures']):>3} failures {len(result['errors']):>2} errors {result['seconds']:6.1f} s",
                  flush=True)

    for role in STAFF:
        run(role, lambda role=role: server.login(STAFF_EMAIL[role], TENANT))

    def api_key() -> str:
        admin = server.login(STAFF_EMAIL["tenant_admin"], TENANT)
        created = server.call("POST", "/api/v1/api-keys", {"name": "contract fuzz", "scopes": API_KEY_SCOPES}, token=admin)
        return created["secret"]
    run("api_key", api_key)

    if wanted is None or "platform_admin" in wanted:
        try:
            platform = server.login("admin@probiblio.example", None)
            before = server.call("GET", "/api/v1/admin/tenants?limit=200", token=platform)["items"]
        except SetupError as error:
            before = []
            print(f"contract-fuzz: cannot read the libraries before the platform run: {error}", flush=True)
        run("platform_admin", lambda: server.login("admin@probiblio.example", None))
        try:
            platform = server.login("admin@probiblio.example", None)
            for tenant in before:  # put the libraries back as they were (status and name)
                server.call("PATCH", f"/api/v1/admin/tenants/{tenant['slug']}",
                            {"status": tenant["status"], "name": tenant["name"]}, token=platform)
        except SetupError as error:
            results.append({"name": "platform_admin", "mode": "restore", "operations": 0, "cases": 0, "failures": [],
                            "seconds": 0, "errors": [{"operation": "(setup)", "title": str(error)}]})

    run("public", None)
    total = time.monotonic() - begun
    return report(results, work, total, args.show)


def cause(failure: dict) -> str:
    """The server's detail with quoted names and field lists taken out, to tell causes apart."""
    return re.sub(r"'[^']*'", "'_'", re.sub(r" \[[^\[\]]*\]$", "", detail(failure)))


def report(results: list[dict], work: Path, total: float, show: int) -> int:
    """A group is one check failing on one operation with one status (and one schema error); within it, each
    distinct `detail` of the server's problem document is kept with its first example."""
    groups: dict[tuple, dict] = {}
    for result in results:
        for failure in result["failures"]:
            key = (failure["check"], failure["operation"], failure["status"], short(failure))
            group = groups.setdefault(key, {"runs": [], "causes": {}, "count": 0})
            group["count"] += 1
            group["causes"].setdefault(cause(failure), failure)
            run = f"{result['name']} {result['mode']}"
            if run not in group["runs"]:
                group["runs"].append(run)
    errors = [(r["name"], r["mode"], e) for r in results for e in r["errors"]]

    order = {"not_a_server_error": 0, "response_schema_conformance": 1, "status_code_conformance": 2, "content_type_conformance": 3}
    ordered = sorted(groups.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1], str(item[0][2])))
    with open(work / "failures.txt", "w") as out:
        for (check, operation, status, summary), group in ordered:
            out.write(f"=== [{check}] {operation} -> {status}  ({group['count']}x; {', '.join(group['runs'])})\n")
            for example in group["causes"].values():
                out.write(f"--- {example['code']} {example['title']}: {example['message']}\n")
                if detail(example):
                    out.write(f"server's detail: {detail(example)}\n")
                out.write(f"phase {example['phase']}, case mode {example['case_mode']}"
                          + (f", {example['scenario']}" if example["scenario"] else "") + "\n")
                out.write(f"request: {example['request']}\n")
                if example["request_body"]:
                    out.write(f"request body: {example['request_body']}\n")
                out.write(f"response body: {example['response_body']}\n")
                out.write(f"reproduce: {example['curl']}\n")
            out.write("\n")
        for name, mode, error in errors:
            out.write(f"=== error ({name} {mode}) {error['operation']}: {error['title']}\n")
    (work / "failures.json").write_text(json.dumps(
        [{"check": k[0], "operation": k[1], "status": k[2], "summary": k[3], "runs": g["runs"], "count": g["count"],
          "examples": list(g["causes"].values())} for k, g in ordered], indent=2))

    # Not a failure: input the document admits (a positive case) that the server calls malformed (400). Either the
    # document is looser than the server (a missing minLength, format, maximum or required) or the server too strict.
    rejected: dict[tuple, dict] = {}
    for result in results:
        for case in result.get("rejected", []):
            said = cause(case) or case["response_body"][:120]
            entry = rejected.setdefault((case["operation"], said), {"count": 0, "curl": case["curl"]})
            entry["count"] += 1
    with open(work / "positive-400.txt", "w") as out:
        for (operation, said), entry in sorted(rejected.items()):
            out.write(f"{operation}: {entry['count']}x {said}\n    {entry['curl']}\n")

    cases = sum(r["cases"] for r in results)
    print(f"contract-fuzz: {len(results)} runs, {cases} cases in {total:.0f} s; {len(groups)} distinct failures, "
          f"{len(errors)} errors; details in {work}/failures.txt", flush=True)
    for index, ((check, operation, status, summary), group) in enumerate(ordered):
        if index == show:
            print(f"  ... and {len(groups) - show} more in {work}/failures.txt")
            break
        runs = ", ".join(group["runs"][:4]) + (f" +{len(group['runs']) - 4}" if len(group["runs"]) > 4 else "")
        causes = [c for c in group["causes"] if c]
        said = "; server: " + " | ".join(causes[:2]) + (f" (+{len(causes) - 2} more)" if len(causes) > 2 else "") if causes else ""
        print(f"  [{check}] {operation} -> {status} ({runs}): {summary[:160]}{said[:200]}")
    for name, mode, error in errors[:10]:
        print(f"  [error] {name} {mode}: {error['operation']}: {error['title'][:160]}")
    if len(errors) > 10:
        print(f"  ... and {len(errors) - 10} more errors in {work}/failures.txt")
    if rejected:
        operations = len({operation for operation, _ in rejected})
        print(f"contract-fuzz: note (not a failure): schema-valid input answered 400 on {operations} operations, "
              f"see {work}/positive-400.txt")
    return 1 if groups or errors else 0


if __name__ == "__main__":
    sys.exit(main())
