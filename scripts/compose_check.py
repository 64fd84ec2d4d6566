#!/usr/bin/env python3
"""Proves docker-compose.yml and the Dockerfile on a machine without a Docker engine.

It runs the Dockerfile's build command natively, then starts each compose service in depends_on
order with exactly the command and environment the files give it (the image's ENV, then the
service's environment), waits for each service's health check, and runs scripts/demo.sh against
the published ports. The `postgres` service is replaced by a throwaway database on the server of
TEST_DATABASE_URL; other service host names become 127.0.0.1.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = {"auth-server": "8081", "resource-server": "8080"}


def say(message):
    print(f"compose-check: {message}", flush=True)


def fail(message):
    say(f"FAILED: {message}")
    sys.exit(1)


def dockerfile_facts(text):
    """The build command, the binaries the runtime image gets, its ENV, and its CMD."""
    lines = text.replace("\\\n", " ").splitlines()
    build_runs = [l.strip()[4:].strip() for l in lines if l.strip().startswith("RUN cargo build")]
    if not build_runs:
        fail("the Dockerfile has no `RUN cargo build` line")
    binaries = {}
    env = {}
    cmd = None
    for line in lines:
        words = line.strip().split()
        if not words:
            continue
        if words[0] == "COPY" and words[1].startswith("--from="):
            *sources, target = words[2:]
            for source in sources:
                if "/target/release/" in source:
                    name = source.rsplit("/", 1)[1]
                    binaries[name] = target.rstrip("/") + "/" + name
        elif words[0] == "ENV":
            for pair in shlex.split(line.strip()[3:]):
                key, _, value = pair.partition("=")
                env[key] = value
        elif words[0] == "CMD":
            cmd = yaml.safe_load(line.strip()[3:].strip())
    return build_runs[-1], binaries, env, cmd


def start_order(services):
    ordered, seen = [], set()

    def visit(name, path=()):
        if name in path:
            fail(f"depends_on cycle through {name}")
        if name in seen:
            return
        for dependency in services[name].get("depends_on", {}) or {}:
            visit(dependency, path + (name,))
        seen.add(name)
        ordered.append(name)

    for name in services:
        visit(name)
    return ordered


def environment_of(service):
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def rewrite(value, postgres_services, database_url, other_services):
    """Service host names as the native run sees them."""
    try:
        url = urllib.parse.urlsplit(value)
    except ValueError:
        return value
    if url.scheme.startswith("postgres") and url.hostname in postgres_services:
        return database_url
    for name in other_services:
        value = value.replace(f"//{name}:", "//127.0.0.1:")
    return value


def healthy(check, env):
    test = check["test"]
    if isinstance(test, str):
        command = ["sh", "-c", test]
    elif test[0] == "CMD":
        command = test[1:]
    elif test[0] == "CMD-SHELL":
        command = ["sh", "-c", test[1]]
    else:
        fail(f"unsupported health check {test}")
    return subprocess.run(command, env=env, capture_output=True).returncode == 0


def seconds(value, default):
    if value is None:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", str(value))
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def main():
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        fail("TEST_DATABASE_URL must point at a PostgreSQL server (it stands in for the postgres service)")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    build, binaries, image_env, image_cmd = dockerfile_facts((ROOT / "Dockerfile").read_text())

    say(f"building as the Dockerfile does: {build}")
    subprocess.run(["bash", "-c", build], cwd=ROOT, check=True)

    postgres_services = {n for n, s in services.items() if str(s.get("image", "")).startswith("postgres")}
    app_services = [n for n in services if n not in postgres_services]
    database = f"compose_check_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {database}"], check=True)
    database_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(admin_url)._replace(path=f"/{database}"))
    say(f"postgres service: throwaway database {database} on the TEST_DATABASE_URL server")

    logs = Path(tempfile.mkdtemp(prefix="compose-check-"))
    processes = []
    try:
        for name in start_order(services):
            if name in postgres_services:
                continue
            service = services[name]
            for dependency, condition in (service.get("depends_on", {}) or {}).items():
                wanted = (condition or {}).get("condition", "service_started")
                if wanted == "service_healthy" and "healthcheck" not in services[dependency]:
                    fail(f"{name} waits for {dependency} to be healthy, but it has no health check")
            command = service.get("command") or image_cmd
            if isinstance(command, str):
                command = shlex.split(command)
            binary = command[0]
            if binary not in binaries:
                fail(f"{name} runs {binary}, which the runtime image does not contain ({sorted(binaries)})")
            env = {k: v for k, v in os.environ.items() if not k.startswith("APP__") and k != "DATABASE_URL"}
            settings = dict(image_env)
            settings.update(environment_of(service))
            others = [n for n in app_services if n != name]
            settings = {k: rewrite(v, postgres_services, database_url, others) for k, v in settings.items()}
            env.update(settings)
            port = settings.get("APP__SERVER__PORT", DEFAULT_PORTS.get(binary))
            for mapping in service.get("ports", []) or []:
                host, _, container = str(mapping).rpartition(":")
                if container != port or host != port:
                    fail(f"{name} listens on {port} but publishes {mapping}; demo.sh expects {port}:{port}")
            shown = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
            say(f"starting {name}: {shown} {' '.join(command)}")
            log = open(logs / f"{name}.log", "w")
            process = subprocess.Popen([str(ROOT / "target/release" / binary), *command[1:]],
                                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append((name, process))
            check = service.get("healthcheck")
            if check:
                interval = seconds(check.get("interval"), 5)
                retries = int(check.get("retries", 3))
                grace = seconds(check.get("start_period"), 0)
                deadline = time.time() + grace + interval * retries
                started = time.time()
                while not healthy(check, env):
                    if process.poll() is not None or time.time() > deadline:
                        print((logs / f"{name}.log").read_text()[-3000:])
                        fail(f"{name} never passed its health check {check['test']}")
                    time.sleep(min(interval, 0.5))
                say(f"{name} healthy after {time.time() - started:.1f}s")
        say("running scripts/demo.sh against the published ports")
        demo = subprocess.run([str(ROOT / "scripts/demo.sh")], cwd=ROOT)
        if demo.returncode != 0:
            for name, _ in processes:
                print(f"--- {name} log")
                print((logs / f"{name}.log").read_text()[-3000:])
            fail("the walkthrough failed against the compose services")
        say("docker-compose.yml and the Dockerfile work as documented")
    finally:
        for _, process in processes:
            process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])


if __name__ == "__main__":
    main()
