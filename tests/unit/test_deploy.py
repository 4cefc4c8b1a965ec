"""deploy/ agrees with the code it deploys: files parse, every metric a query uses is exported, every WISMO_*
variable is a setting of the process that gets it, secrets come only from secret stores, workers never outnumber
partitions, ports line up, and the alert rules fire on the input they describe (with promtool, when installed).

Runs without Docker: ``docker compose config`` runs only when a Docker daemon answers, and the promtool checks
only when ``promtool`` is on PATH; otherwise those tests are skipped with the reason."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from wismo.streams import metrics
from wismo.streams.topics import BOOTSTRAP_ENV

from wismo.delivery_settings import ACTION_TOPICS, DeliverySettings
from wismo.ingest_settings import IngestSettings
from wismo.policy import load_policy
from wismo.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
K8S = DEPLOY / "kubernetes"
PROMETHEUS = DEPLOY / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "wismo.json"

METRIC = re.compile(r"\bwismo_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")
SEVERITIES = {"critical", "warning", "info"}


# ---- helpers -------------------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads (prefix + field name; case-insensitive)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(prefix + name).upper() for name in cls.model_fields}


def secret_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {
        (prefix + name).upper()
        for name, field in cls.model_fields.items()
        if SecretStr in (field.annotation, *get_args(field.annotation))
    }


SETTINGS: dict[str, type[BaseSettings]] = {
    "worker": WorkerSettings,
    "ingest": IngestSettings,
    "deliver": DeliverySettings,
}
"""The process of each command and the settings class it reads (``wismo <command>``)."""
ALL_SETTINGS = set().union(*(env_names(c) for c in SETTINGS.values()))
SECRETS = set().union(*(secret_names(c) for c in SETTINGS.values()))


def allowed_env(command: str) -> set[str]:
    """What ``wismo <command>`` reads; ``topics create`` reads only the bootstrap variable."""
    return {BOOTSTRAP_ENV} if command == "topics" else env_names(SETTINGS[command])


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def exposed_names() -> set[str]:
    """Every series name /metrics shows: counters (with ``_total``) and gauges as named, histograms as their
    ``_bucket``/``_count``/``_sum`` series."""
    histograms = {metrics.PREFIX + h for h in metrics.HISTOGRAMS}
    return (metrics.EXPORTED - histograms) | {h + s for h in histograms for s in ("_bucket", "_count", "_sum")}


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in panels:
        out.append(p)
        out.extend(all_panels(p.get("panels", [])))
    return out


def panel_exprs(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel.get("targets", []) if t.get("expr")]


def dashboard_exprs() -> list[str]:
    d = dashboard()
    exprs = [e for p in all_panels(d["panels"]) for e in panel_exprs(p)]
    for var in d["templating"]["list"]:
        query = var.get("query")
        exprs.append(query.get("query", "") if isinstance(query, dict) else str(query or ""))
    return exprs


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def service_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def env_file_example(entry: str | dict[str, Any]) -> Path:
    path = entry if isinstance(entry, str) else entry["path"]
    return COMPOSE_DIR / f"{path}.example"


def dotenv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def k8s_docs() -> list[dict[str, Any]]:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")) if d)
    return docs


def k8s_named(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def k8s_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, workload, container) of every Deployment and Job."""
    out = []
    for d in k8s_docs():
        if d["kind"] in ("Deployment", "Job"):
            for c in d["spec"]["template"]["spec"]["containers"]:
                out.append((d["metadata"]["name"], d, c))
    return out


def input_partitions() -> int:
    topics = load_yaml(REPO / "topics.yaml")
    default = topics.get("defaults", {}).get("partitions", 1)
    return min(int(t.get("partitions", default)) for t in topics["inputs"])


# ---- every file parses ---------------------------------------------------------------------------------------


def test_every_yaml_file_parses_and_the_dashboard_is_valid_json() -> None:
    files = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])
    assert len(files) >= 10, files
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert docs, f"{path} is empty"
    d = dashboard()
    ids = [p["id"] for p in all_panels(d["panels"])]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    assert d["uid"] and d["schemaVersion"] >= 39
    variables = {v["name"] for v in d["templating"]["list"]}
    assert {"job", "instance"} <= variables


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"]) | {f for g in kustomization["configMapGenerator"] for f in g["files"]}
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


# ---- metrics -------------------------------------------------------------------------------------------------


def test_every_metric_in_alerts_and_dashboard_is_exported() -> None:
    used = {m for rule in alert_rules() for m in METRIC.findall(rule["expr"])}
    used |= {m for e in dashboard_exprs() for m in METRIC.findall(e)}
    assert used
    families = {family(n) for n in metrics.EXPORTED}
    unknown_families = sorted(n for n in used if family(n) not in families)
    assert not unknown_families, f"not exported by wismo.streams.metrics: {unknown_families}"
    # Same family is not enough: a counter queried without _total, or a bare histogram name, matches nothing.
    wrong_series = sorted(used - exposed_names())
    assert not wrong_series, f"no such series on /metrics (check the _total/_bucket suffix): {wrong_series}"


def test_the_dashboard_shows_every_exported_metric() -> None:
    shown = {family(m) for e in dashboard_exprs() for m in METRIC.findall(e)}
    missing = sorted(n for n in metrics.EXPORTED if family(n) not in shown)
    assert not missing, f"exported but on no dashboard panel: {missing}"


ROLLOUT_FIGURES = {
    # panel title (case-insensitive substring) -> series its queries must use
    "deflection rate by channel": {"wismo_contact_outcomes_total"},
    "first-touch resolution": {"wismo_contact_outcomes_total", "wismo_contacts_total"},
    "proactive no-ticket rate": {"wismo_proactive_updates_total"},
    "backend exception to first customer update": {"wismo_exception_to_update_seconds_bucket"},
    "promised follow-ups sent on time": {"wismo_promised_follow_ups_total"},
    "repeated-contact rate": {"wismo_contacts_total"},
    "escalation rate by condition": {"wismo_escalations_total", "wismo_evaluations_total"},
    "tool failure rate by system": {"wismo_tool_failures_total", "wismo_tool_calls_total"},
    "events in by source": {"wismo_events_in_total"},
    "dead letters by type": {"wismo_dead_letters_total"},
    "actions by kind and mode": {"wismo_actions_total"},
    "guardrail failures": {"wismo_guardrail_failures_total"},
    "consumer lag": {"wismo_consumer_lag_messages"},
    "batch latency p50 / p99": {"wismo_batch_seconds_bucket"},
    "event age p99": {"wismo_event_age_seconds_bucket"},
    "delivery outcomes": {"wismo_delivery_attempts_total"},
    "webhooks by outcome": {"wismo_webhooks_total"},
}


def test_every_rollout_plan_figure_has_its_panel() -> None:
    panels = [p for p in all_panels(dashboard()["panels"]) if p.get("type") != "row"]
    for title, series in ROLLOUT_FIGURES.items():
        matching = [p for p in panels if title in p["title"].lower()]
        assert matching, f"no panel titled like {title!r}"
        used = {m for p in matching for e in panel_exprs(p) for m in METRIC.findall(e)}
        assert series <= used, f"panel {title!r} does not query {sorted(series - used)}"
    for p in panels:
        assert p.get("description"), f"panel {p['title']!r} has no description"
    ftr = next(p for p in panels if "first-touch" in p["title"].lower())
    assert "approximat" in ftr["description"].lower()


def test_every_alert_says_how_urgent_it_is_and_what_to_do() -> None:
    rules = alert_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for r in rules:
        assert r.get("for"), f"{r['alert']}: no for:"
        assert r["labels"]["severity"] in SEVERITIES, r["alert"]
        assert r["annotations"]["summary"].strip(), r["alert"]
        assert len(r["annotations"]["description"].split()) >= 20, f"{r['alert']}: description too thin"
        assert f"`{r['alert']}`" in readme, f"{r['alert']} is not explained in deploy/README.md"
    used = {m for r in rules for m in METRIC.findall(r["expr"])}
    required = {
        "wismo_promised_follow_ups_total",
        "wismo_dead_letters_total",
        "wismo_guardrail_failures_total",
        "wismo_delivery_attempts_total",
        "wismo_delivery_dead_letters_total",
        "wismo_consumer_lag_messages",
        "wismo_kill_switch",
        "wismo_condition_demoted",
        "wismo_tool_failures_total",
        "wismo_tool_calls_total",
        "wismo_webhooks_total",
    }
    assert required <= used, f"no alert on {sorted(required - used)}"
    assert any('outcome="bad_signature"' in r["expr"] for r in rules)


# ---- compose -------------------------------------------------------------------------------------------------


def test_compose_has_every_service_of_the_stack() -> None:
    services = compose()["services"]
    assert {"kafka", "redis", "topics", "worker", "ingest", "deliver", "prometheus", "grafana"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in str(service_env(kafka)["KAFKA_PROCESS_ROLES"]).split(",")
    assert "zookeeper" not in json.dumps(services).lower()
    redis_cmd = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert services["topics"]["command"][:2] == ["topics", "create"]
    for name in ("worker", "ingest", "deliver"):
        assert services[name]["command"][0] == name
    # Workers wait for the topics job to finish; they cannot start on missing topics.
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["worker"]


def compose_process_env() -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(service, command, environment, example env files' variables) of every wismo service."""
    shared = {str(k) for k in compose()["x-wismo-env"]}
    out = []
    for name, svc in compose()["services"].items():
        command = (svc.get("command") or [""])[0]
        if command not in (*SETTINGS, "topics"):
            continue
        env = {k: v for k, v in service_env(svc).items() if k not in shared}
        files: dict[str, str] = {}
        for entry in svc.get("env_file", []):
            example = env_file_example(entry)
            assert example.is_file(), f"{name}: env file {entry} has no {example.name} beside it"
            files.update(dotenv(example))
        out.append((name, command, env, files))
    return out


def test_compose_env_vars_are_settings_of_the_process_that_reads_them() -> None:
    shared = {str(k) for k in compose()["x-wismo-env"]}
    assert shared <= ALL_SETTINGS, sorted(shared - ALL_SETTINGS)
    for name, command, env, files in compose_process_env():
        wismo_vars = {k for k in (*env, *files) if k.startswith("WISMO_")}
        unknown = sorted(wismo_vars - allowed_env(command))
        assert not unknown, f"compose service {name} (wismo {command}) sets variables it does not read: {unknown}"


def test_compose_ports_line_up() -> None:
    services = compose()["services"]
    worker, ingest = service_env(services["worker"]), service_env(services["ingest"])
    assert worker["WISMO_WEB_HOST"] == "0.0.0.0" and ingest["WISMO_INGEST_HOST"] == "0.0.0.0"
    ports = {
        "worker": worker["WISMO_WEB_PORT"],
        "ingest": ingest["WISMO_INGEST_PORT"],
    }
    assert f"127.0.0.1:{ports['worker']}/health" in " ".join(services["worker"]["healthcheck"]["test"])
    assert f"127.0.0.1:{ports['ingest']}/health" in " ".join(services["ingest"]["healthcheck"]["test"])
    assert f"{ports['ingest']}:{ports['ingest']}" in services["ingest"]["ports"]
    scrape = {j["job_name"]: j for j in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"]}
    for service, job in (("worker", "wismo-worker"), ("ingest", "wismo-ingest"), ("deliver", "wismo-deliver")):
        sd = scrape[job]["dns_sd_configs"][0]
        assert sd["names"] == [service]
        if service in ports:
            assert str(sd["port"]) == ports[service], job
    assert str(scrape["wismo-deliver"]["dns_sd_configs"][0]["port"]) in [str(p) for p in services["deliver"]["expose"]]


def test_compose_replicas_do_not_exceed_partitions() -> None:
    replicas = compose()["services"]["worker"]["deploy"]["replicas"]
    assert 1 <= replicas <= input_partitions()


def test_compose_mounts_what_prometheus_and_grafana_expect() -> None:
    services = compose()["services"]
    prom = load_yaml(PROMETHEUS / "prometheus.yml")
    for rule_file in prom["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file()
    mounts = {m.split(":")[0]: m.split(":")[1] for m in services["prometheus"]["volumes"] if m.startswith("..")}
    assert (
        mounts["../prometheus/prometheus.yml"].rsplit("/", 1)[0] == mounts["../prometheus/alerts.yml"].rsplit("/", 1)[0]
    )
    grafana = {m.split(":")[0]: m.split(":")[1] for m in services["grafana"]["volumes"] if m.startswith("..")}
    provider = load_yaml(DEPLOY / "grafana/provisioning/dashboards/wismo.yml")["providers"][0]
    assert provider["options"]["path"] == grafana["../grafana/dashboards"]
    assert grafana["../grafana/provisioning"] == "/etc/grafana/provisioning"
    # Every relative bind mount points at a file or folder of the repository.
    for svc in services.values():
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), mount


def test_docker_compose_config_accepts_the_file() -> None:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
    )
    if info.returncode != 0:
        pytest.skip(f"no Docker daemon answers: {info.stderr.strip()[:200]}")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=COMPOSE_DIR,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# ---- kubernetes ----------------------------------------------------------------------------------------------


def k8s_env(container: dict[str, Any]) -> tuple[set[str], set[str], dict[str, str]]:
    """(variables from the shared ConfigMap wismo-env, every other variable, literal env values)."""
    configmaps, secrets = k8s_named("ConfigMap"), k8s_named("Secret")
    shared: set[str] = set()
    own: set[str] = set()
    literal = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    own |= {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]
            keys = set(configmaps[ref["name"]]["data"])
            (shared if ref["name"] == "wismo-env" else own).update(keys)
        else:
            ref = source["secretRef"]
            if ref["name"] not in secrets:
                assert ref.get("optional") is True, f"secret {ref['name']} is referenced but not defined"
                continue
            own |= set(secrets[ref["name"]].get("stringData", {}))
    return shared, own, literal


def test_k8s_env_vars_are_settings_of_the_process_that_reads_them() -> None:
    shared_keys = set(k8s_named("ConfigMap")["wismo-env"]["data"])
    assert shared_keys <= ALL_SETTINGS, sorted(shared_keys - ALL_SETTINGS)
    commands = set()
    for name, _, container in k8s_containers():
        command = container["args"][0]
        commands.add(command)
        _, own, _ = k8s_env(container)
        unknown = sorted(v for v in own - allowed_env(command) if v.startswith("WISMO_"))
        assert not unknown, f"{name} (wismo {command}) gets variables it does not read: {unknown}"
    assert commands == {"worker", "ingest", "deliver", "topics"}


def test_secrets_come_only_from_secret_stores_and_hold_placeholders() -> None:
    assert SECRETS  # the settings classes do have secrets
    # compose: never a literal in `environment`; every secret is documented in an example env file, empty.
    documented: set[str] = set()
    for name, _, env, files in compose_process_env():
        assert not SECRETS & set(env), f"compose service {name} has a literal secret: {sorted(SECRETS & set(env))}"
        documented |= set(files)
        filled = sorted(k for k in SECRETS & set(files) if files[k])
        assert not filled, f"example env file of {name} holds a value for {filled}"
    assert documented >= SECRETS, f"no example env file names {sorted(SECRETS - documented)}"
    # kubernetes: not in ConfigMaps nor literal env; every secret is a key of a Secret, with an empty placeholder.
    for cm in k8s_named("ConfigMap").values():
        assert not SECRETS & set(cm.get("data", {})), cm["metadata"]["name"]
    for name, _, container in k8s_containers():
        _, _, literal = k8s_env(container)
        assert not SECRETS & set(literal), name
    keys: set[str] = set()
    for secret in k8s_named("Secret").values():
        data = secret.get("stringData", {})
        assert not secret.get("data"), "placeholders go in stringData"
        assert all(v == "" for v in data.values()), f"{secret['metadata']['name']} holds a non-empty value"
        keys |= set(data)
    assert keys >= SECRETS, f"no Secret has the key {sorted(SECRETS - keys)}"
    assert keys <= SECRETS, f"Secrets hold settings that are not secret: {sorted(keys - SECRETS)}"


def test_k8s_workers_do_not_outnumber_partitions() -> None:
    deployments = k8s_named("Deployment")
    worker = deployments["wismo-worker"]
    assert 1 <= worker["spec"]["replicas"] <= input_partitions()
    assert "partition" in (K8S / "worker.yaml").read_text(encoding="utf-8").split("replicas:")[0].lower()
    topics = load_yaml(REPO / "topics.yaml")
    action_partitions = min(int(t["partitions"]) for t in topics["outputs"] if t["name"] in ACTION_TOPICS)
    assert 1 <= deployments["wismo-deliver"]["spec"]["replicas"] <= action_partitions


def test_k8s_probes_ports_and_scrape_annotations_line_up() -> None:
    deployments = k8s_named("Deployment")
    port_var = {"wismo-worker": "WISMO_WEB_PORT", "wismo-ingest": "WISMO_INGEST_PORT"}
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        container = template["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) in ports.values(), name
        assert container["resources"]["requests"] and container["resources"]["limits"], name
        if name in port_var:
            _, _, literal = k8s_env(container)
            assert int(literal[port_var[name]]) == int(annotations["prometheus.io/port"]), name
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["path"] == "/health", (name, probe)
                assert container[probe]["httpGet"]["port"] in ports, (name, probe)
    worker = deployments["wismo-worker"]["spec"]["template"]["spec"]
    _, _, literal = k8s_env(worker["containers"][0])
    assert literal["WISMO_WEB_HOST"] == "0.0.0.0"
    policy_mount = next(m for m in worker["containers"][0]["volumeMounts"] if m["name"] == "policy")
    assert literal["WISMO_POLICY_FILE"] == f"{policy_mount['mountPath']}/policy.yaml"
    policy_volume = next(v for v in worker["volumes"] if v["name"] == "policy")
    generators = load_yaml(K8S / "kustomization.yaml")["configMapGenerator"]
    assert policy_volume["configMap"]["name"] in {g["name"] for g in generators}
    jobs = k8s_named("Job")
    assert jobs["wismo-topics"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["topics", "create"]


def test_the_deployed_policy_is_valid_and_starts_in_testing_mode() -> None:
    policy = load_policy(K8S / "policy.yaml")
    # The rollout plan's launch checklist: deployments start in testing mode, write actions disabled.
    assert policy.modes.default == "testing"
    assert policy.modes.kill_switch is False
    assert policy.actions.writes_enabled is False


# ---- image ---------------------------------------------------------------------------------------------------


def test_the_image_installs_the_package_without_dev_extra_and_copies_every_subpackage() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"^RUN pip install \.(\s|$)", dockerfile, re.M)
    assert "[dev]" not in dockerfile
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    folders = {p.split("/")[0] for p in pyproject["tool"]["setuptools"]["package-dir"].values()}
    copied = set(re.findall(r"^COPY (\S+)/ ", dockerfile, re.M))
    assert folders <= copied, f"the image misses {sorted(folders - copied)}"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {f"!{f}/" for f in folders} <= set(ignore)
    assert pyproject["project"]["readme"] in dockerfile


# ---- promtool ------------------------------------------------------------------------------------------------


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not on PATH")
    return path


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules_the_config_and_the_dashboard_queries(tmp_path: Path) -> None:
    for args in (("check", "rules", ALERTS), ("check", "config", PROMETHEUS / "prometheus.yml")):
        result = run_promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr
    # Dashboard queries, with Grafana's variables filled in, as recording rules: promtool parses each.
    substitutions = {"$__rate_interval": "1m", "$window": "1h", "$job": ".*", "$instance": ".*"}
    rules = []
    for i, expr in enumerate(e for e in dashboard_exprs() if METRIC.search(e)):
        for var, value in substitutions.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = run_promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def w(labels: str) -> str:
    return f'{{job="wismo-worker", instance="w1", {labels}}}' if labels else '{job="wismo-worker", instance="w1"}'


HEALTHY = {
    "up" + w(""): "1x60",
    "wismo_promised_follow_ups_total" + w('outcome="on_time"'): "0+5x60",
    "wismo_promised_follow_ups_total" + w('outcome="late"'): "0x60",
    "wismo_promised_follow_ups_total" + w('outcome="missed"'): "0x60",
    "wismo_dead_letters_total" + w('error_type="invalid_event"'): "0x30 1x30",
    "wismo_guardrail_failures_total" + w('condition="delivered_not_received"'): "0x60",
    "wismo_consumer_lag_messages" + w('topic="wismo.in.oms"'): "40x60",
    "wismo_assigned_partitions" + w(""): "4x60",
    "wismo_redis_failures_total" + w(""): "0x60",
    "wismo_kill_switch" + w(""): "0x60",
    "wismo_condition_demoted" + w('condition="delivered_not_received"'): "0x60",
    "wismo_tool_calls_total" + w('system="oms"'): "0+10x60",
    "wismo_tool_failures_total" + w('system="oms"'): "0x60",
    "wismo_delivery_attempts_total" + w('target="zendesk", outcome="success"'): "0+10x60",
    "wismo_delivery_attempts_total" + w('target="zendesk", outcome="error"'): "0+1x60",
    "wismo_delivery_dead_letters_total" + w('target="zendesk"'): "0x60",
    "wismo_webhooks_total" + w('provider="shopify", outcome="accepted"'): "0+10x60",
    "wismo_webhooks_total" + w('provider="shopify", outcome="bad_signature"'): "0x60",
    "wismo_webhooks_total" + w('provider="shopify", outcome="unavailable"'): "0x60",
}

LOW_VOLUME = {
    # Every share is 100%, but on too few events to mean anything: the volume guards keep the alerts quiet.
    "up" + w(""): "1x60",
    "wismo_promised_follow_ups_total" + w('outcome="late"'): "0+0.25x60",  # 15 an hour (< 20)
    "wismo_tool_calls_total" + w('system="carrier"'): "0+0.5x60",  # 5 in 10 min (< 10)
    "wismo_tool_failures_total" + w('system="carrier"'): "0+0.5x60",
    "wismo_webhooks_total" + w('provider="zendesk", outcome="bad_signature"'): "0+0.2x60",  # 3 in 15 min (< 5)
}

FIRING: list[tuple[str, dict[str, str], int, dict[str, str]]] = [
    # (alert, input series, minute of evaluation, labels expected besides alertname and severity)
    ("WismoPromisedFollowUpsMissed", {"wismo_promised_follow_ups_total" + w('outcome="missed"'): "0x10 1x50"}, 20, {}),
    (
        "WismoFollowUpsLateShareHigh",
        {
            "wismo_promised_follow_ups_total" + w('outcome="on_time"'): "0+1x60",
            "wismo_promised_follow_ups_total" + w('outcome="late"'): "0+1x60",
        },
        60,
        {},
    ),
    (
        "WismoDeadLettersGrowing",
        {"wismo_dead_letters_total" + w('error_type="invalid_event"'): "0+2x60"},
        45,
        {"error_type": "invalid_event"},
    ),
    (
        "WismoGuardrailFailures",
        {"wismo_guardrail_failures_total" + w('condition="restricted_hold"'): "0x10 1x50"},
        20,
        {"condition": "restricted_hold"},
    ),
    (
        "WismoConsumerLagHigh",
        {"wismo_consumer_lag_messages" + w('topic="wismo.in.oms"'): "6000x30"},
        20,
        {"topic": "wismo.in.oms"},
    ),
    ("WismoNoPartitionsAssigned", {"wismo_assigned_partitions" + w(""): "0x20"}, 10, {}),
    ("WismoRedisFailures", {"wismo_redis_failures_total" + w(""): "0+1x30"}, 20, {}),
    (
        "WismoTargetDown",
        {'up{job="wismo-ingest", instance="ingest:8090"}': "0x10"},
        5,
        {"job": "wismo-ingest", "instance": "ingest:8090"},
    ),
    ("WismoKillSwitchOn", {"wismo_kill_switch" + w(""): "1x20"}, 10, {}),
    (
        "WismoConditionDemoted",
        {"wismo_condition_demoted" + w('condition="delivered_not_received"'): "1x10"},
        5,
        {"condition": "delivered_not_received"},
    ),
    (
        "WismoToolFailureRateHigh",
        {
            "wismo_tool_calls_total" + w('system="carrier"'): "0+10x30",
            "wismo_tool_failures_total" + w('system="carrier"'): "0+5x30",
        },
        25,
        {"system": "carrier"},
    ),
    (
        # Half of the real attempts fail; the many duplicates (no call made) must not dilute the share.
        "WismoDeliveryErrorShareHigh",
        {
            "wismo_delivery_attempts_total" + w('target="slack", outcome="success"'): "0+5x30",
            "wismo_delivery_attempts_total" + w('target="slack", outcome="error"'): "0+5x30",
            "wismo_delivery_attempts_total" + w('target="slack", outcome="duplicate"'): "0+100x30",
        },
        25,
        {"target": "slack"},
    ),
    (
        "WismoDeliveryDeadLetters",
        {"wismo_delivery_dead_letters_total" + w('target="webhook"'): "0x5 1x10"},
        8,
        {"target": "webhook"},
    ),
    (
        "WismoWebhookBadSignatures",
        {
            "wismo_webhooks_total" + w('provider="shopify", outcome="accepted"'): "0+1x40",
            "wismo_webhooks_total" + w('provider="shopify", outcome="bad_signature"'): "0+1x40",
        },
        30,
        {"provider": "shopify"},
    ),
    (
        "WismoWebhooksUnavailable",
        {"wismo_webhooks_total" + w('provider="easypost", outcome="unavailable"'): "0x5 1x20"},
        12,
        {"provider": "easypost"},
    ),
]


def test_alerts_fire_on_the_input_they_describe_and_stay_quiet_on_healthy_traffic(tmp_path: Path) -> None:
    promtool()
    rules = load_yaml(ALERTS)
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")  # the expressions and `for:` are under test; `check rules` covers templates
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    names = [r["alert"] for r in alert_rules()]
    assert {name for name, *_ in FIRING} == set(names), "every alert needs a firing case"
    severity = {r["alert"]: r["labels"]["severity"] for r in alert_rules()}

    def case(series: dict[str, str], minute: int, firing: dict[str, dict[str, str]]) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [
                {
                    "eval_time": f"{minute}m",
                    "alertname": name,
                    "exp_alerts": (
                        [{"exp_labels": {"severity": severity[name], **firing[name]}}] if name in firing else []
                    ),
                }
                for name in names
            ],
        }

    tests = [case(HEALTHY, 60, {}), case(LOW_VOLUME, 60, {})]
    tests += [case(series, minute, {name: labels}) for name, series, minute, labels in FIRING]
    spec = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = run_promtool("test", "rules", tmp_path / "tests.yml")
    assert result.returncode == 0, result.stdout + result.stderr
