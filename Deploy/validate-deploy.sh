#!/usr/bin/env bash
# Checks the packaging in Deploy/ without a cluster: the Kubernetes manifests against the API's schemas
# (kubernetes-validate from PyPI, strict: an unknown field fails), the compose file's references, the Dockerfile's
# inputs; and builds the image where a container engine runs (here there may be only the docker client: then it says
# so). A broken manifest is checked too, so the check is known to fail when it should.
# Usage: Deploy/validate-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=/usr/bin/python3
VENV=${KRING_VALIDATE_VENV:-$HOME/.cache/kring/deploy-validate}
VERSION=1.37.0
if ! "$VENV/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    echo "validate-deploy: installing kubernetes-validate into $VENV ..."
    "$PYTHON" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check kubernetes-validate
fi
failed=0
fail() { echo "validate-deploy: FAIL $*" >&2; failed=1; }

# Kubernetes: every manifest, strictly.
"$VENV/bin/kubernetes-validate" --strict --quiet -k "$VERSION" Deploy/k8s/*.yaml || fail "a manifest in Deploy/k8s does not validate"
broken=$(mktemp --suffix=.yaml)
trap 'rm -f "$broken"' EXIT
sed 's/readinessProbe:/readinessProbes:/' Deploy/k8s/server.yaml > "$broken"
if "$VENV/bin/kubernetes-validate" --strict --quiet -k "$VERSION" "$broken" >/dev/null 2>&1; then
    fail "a Deployment with an unknown field passed the validation: the check cannot fail"
fi

# Compose, the Dockerfile and the manifests' contents.
"$VENV/bin/python" - <<'PY' || failed=1
import pathlib, re, sys, yaml

problems = []
deploy = pathlib.Path("Deploy")
compose = yaml.safe_load((deploy / "compose.yaml").read_text())
services = compose["services"]
for name in ["postgres", "migrate", "server", "worker", "mailpit"]:
    if name not in services:
        problems.append(f"compose.yaml has no service {name}")
if "15" not in services["postgres"]["image"]:
    problems.append("compose.yaml: PostgreSQL is not version 15")
if services["worker"].get("deploy", {}).get("replicas") != 2:
    problems.append("compose.yaml: not two workers")
declared = set(compose.get("secrets", {}))
for name, service in services.items():
    for secret in service.get("secrets", []):
        if secret not in declared:
            problems.append(f"compose.yaml: {name} uses the undeclared secret {secret}")
    for target in service.get("depends_on", {}):
        if target not in services:
            problems.append(f"compose.yaml: {name} depends on the unknown service {target}")
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("."):
            if not (deploy / source).exists():
                problems.append(f"compose.yaml: {name} mounts {source}, which does not exist")
        elif source not in (compose.get("volumes") or {}):
            problems.append(f"compose.yaml: {name} mounts the undeclared volume {source}")
    environment = service.get("environment", {})
    for key, value in environment.items():
        if re.search(r"(?i)password|secret", key) and not str(value).startswith("/run/secrets/"):
            problems.append(f"compose.yaml: {name} sets {key} in the file, not from a secret file")
    if "KRING_DATABASE_URL" in environment or "KRING_OWNER_DATABASE_URL" in environment:
        problems.append(f"compose.yaml: {name} has a database URL (with its password) in the file")
for secret in compose.get("secrets", {}).values():
    if not secret.get("file", "").startswith("./secrets/"):
        problems.append(f"compose.yaml: a secret not from Deploy/secrets: {secret}")

dockerfile = (deploy / "Dockerfile").read_text()
for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
    if not pathlib.Path(source).exists():
        problems.append(f"Dockerfile copies {source}, which does not exist")
if not re.search(r"^USER (?!0|root)\S+", dockerfile, re.M):
    problems.append("Dockerfile: the image does not run as a non-root user")
if "/health/live" not in dockerfile or "HEALTHCHECK" not in dockerfile:
    problems.append("Dockerfile: no HEALTHCHECK on /health/live")
if len(re.findall(r"^FROM ", dockerfile, re.M)) < 2:
    problems.append("Dockerfile: not a multi-stage build")

documents = [d for path in sorted((deploy / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
for needed in [("Deployment", "kring-server"), ("Deployment", "kring-worker"), ("Job", "kring-migrate"),
               ("PodDisruptionBudget", "kring-server"), ("ConfigMap", "kring"), ("Secret", "kring-database")]:
    if needed not in kinds:
        problems.append(f"Deploy/k8s has no {needed[0]} {needed[1]}")
for d in documents:
    spec = d.get("spec", {}).get("template", {}).get("spec")
    if not spec:
        continue
    for container in spec["containers"]:
        where = f"{d['kind']} {d['metadata']['name']}"
        if not container.get("resources", {}).get("requests") or not container.get("resources", {}).get("limits"):
            problems.append(f"{where}: no resource requests and limits")
        if d["metadata"]["name"] == "kring-server":
            if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
                problems.append(f"{where}: readiness is not /health/ready")
            if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
                problems.append(f"{where}: liveness is not /health/live")
        if any(e.get("name", "").endswith("_URL") and "value" in e for e in container.get("env", [])):
            problems.append(f"{where}: a URL with credentials outside the Secret")
for problem in problems:
    print(f"validate-deploy: FAIL {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# The image, where an engine runs.
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker build -f Deploy/Dockerfile -t kring:validate . || fail "the image does not build"
else
    echo "validate-deploy: no container engine runs here (docker info fails): the image was not built"
fi
if [ "$failed" -ne 0 ]; then exit 1; fi
echo "validate-deploy: the manifests validate (Kubernetes $VERSION, strict), compose.yaml and the Dockerfile hold together"
