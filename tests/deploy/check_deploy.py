#!/usr/bin/python3
"""Checks that deploy/ agrees with what it deploys.

The manifests and Dockerfiles name flags, ports, paths, Redis keys and images
that are defined elsewhere: in the binaries, the queue code, the other
manifests, the docs. Nothing fails when they drift apart until a pod starts
on a real cluster, so this checks, for every kustomize overlay:

  - every flag in a container's args is one the binary's --help lists, with a
    value where it takes one, and every SIC_* variable is one it reads;
  - the coordinator listens on all interfaces, on the ports its container and
    Services declare; probes hit routes the coordinator serves; every Service
    selects pods that have its target ports;
  - clients reach Redis through an existing Service and port; KEDA's triggers
    are of known types only and scale an existing Deployment; each scaler
    watches its own pool's device class (the workers' --class): redis-streams
    reads the class's stream (<prefix>:trials:<class>) through that Service,
    by its namespace; metrics-api reads the coordinator's GET route of the
    demand for that class (?class=<class>, valueLocation "demand") through
    the Service of its --http port, by its namespace, with its token when it
    runs --auth-reads; every class of a pool has both; both count one worker
    per trials-at-once of a worker (--concurrency, or its GPUs with --gpus);
    NetworkPolicies let KEDA's operator reach what the triggers read;
  - the only Secret is sic-secrets with the keys docs/deploy.md creates;
  - the database, checkpoint and web paths are mounted volumes or baked into
    the image; the coordinator is one replica replaced with Recreate;
  - the Redis NetworkPolicy admits every pod that talks to Redis;
  - the per-trial Jobs (gpu-jobs) run exactly the pod of the worker
    Deployment (gpu), plus --one-shot and --idle-exit-s;
and, for every Dockerfile, that it is multi-stage, runs as a non-root user,
pins its base images, builds the way scripts/build does with the packages
scripts/bootstrap names, and installs the binaries where the manifests run
them.

usage: check_deploy.py SOURCE_DIR SIC_COORDINATOR SIC_WORKER
"""

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.parse

import yaml

OVERLAYS = ["gpu", "cpu", "gpu-jobs", "lab"]
# Overlay pairs whose worker pods must be the same (Deployment, per-trial Jobs).
JOB_PAIRS = [("gpu", "gpu-jobs")]
# Image name (no registry, no tag) -> the Dockerfile that builds it, and the
# binaries its manifests run.
IMAGES = {
    "sic-coordinator": ("coordinator.Dockerfile", ["sic-coordinator"]),
    "sic-worker-cuda": ("worker-cuda.Dockerfile", ["sic-worker"]),
    "sic-worker-cpu": ("worker-cpu.Dockerfile", ["sic-worker"]),
}
SECRET = "sic-secrets"
# KEDA's operator as docs/deploy.md installs it (Helm chart or release
# manifests): its namespace's labels and its pod's.
KEDA_NAMESPACE = {"kubernetes.io/metadata.name": "keda"}
KEDA_OPERATOR = {"app.kubernetes.io/name": "keda-operator"}
# The field of GET /api/v1/demand that counts the trials wanting a worker.
DEMAND_FIELD = "demand"
# bootstrap packages a Dockerfile's build stage does without: tests, reference
# implementations, benchmarks, the browser test (none are built in an image).
NOT_FOR_IMAGES = {"git", "libgtest-dev", "python3", "python3-numpy", "python3-scipy", "python3-torch",
                  "redis-server", "clang-14", "libclang-rt-14-dev", "chromium", "wrk"}
DOCKERFILE_SKIPS = {
    # The coordinator links neither Cairo nor a BLAS, and builds with
    # -DSIC_SERVICE_ONLY=ON, without LibTorch.
    "coordinator.Dockerfile": {"libtorch-dev", "libopenblas0-pthread", "libcairo2-dev"},
    # Only the coordinator links OpenSSL's libcrypto itself (the token's digest).
    "worker-cpu.Dockerfile": {"libssl-dev"},
    # The official CUDA LibTorch instead of Debian's CPU one.
    "worker-cuda.Dockerfile": {"libtorch-dev", "libopenblas0-pthread", "libssl-dev"},
}
# Tools a build stage may add to bootstrap's packages (downloading LibTorch).
DOCKERFILE_EXTRAS = {"curl", "ca-certificates", "unzip"}


# ---------------------------------------------------------------- inputs

def render(source_dir, overlay):
    path = os.path.join(source_dir, "deploy", "k8s", "overlays", overlay)
    try:
        out = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        sys.exit("check_deploy: kubectl not found: install kubectl >= 1.27 (it has kustomize); see docs/deploy.md")
    except subprocess.CalledProcessError as e:
        sys.exit("check_deploy: %s does not render: %s" % (path, e.stderr.strip()))
    return [d for d in yaml.safe_load_all(out) if d]


def parse_help(text):
    """CLI11 --help -> {"--flag": {"value": takes a value, "default": str or None, "env": VAR or None}}."""
    options = {}
    for line in text.splitlines():
        m = re.match(r"^\s+(-{1,2}[\w-]+(?:,-{1,2}[\w-]+)*)(.*)$", line)
        if not m:
            continue
        rest = m.group(2)
        # An option: one space, then TYPE and maybe ":{choices}", ":INT in
        # [1 - 64]" and "=default", up to the description (two spaces) or
        # "(Env:...)". A flag: its description follows after several spaces.
        t = re.match(r" ([A-Z]{2,})(?![a-z])(.*?)(?:\s{2,}|\s\(Env:|$)", rest)
        env = re.search(r"\(Env:(\w+)\)", rest)
        default = (t.group(2).rpartition("=")[2].split() or [""])[0] if t and "=" in t.group(2) else None
        for name in m.group(1).split(","):
            options[name] = {"value": bool(t), "default": default, "env": env.group(1) if env else None}
    return options


def binary_help(path):
    r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or "Options:" not in r.stdout:
        sys.exit("check_deploy: %s --help failed (%d): %s" % (path, r.returncode, r.stderr.strip()))
    return parse_help(r.stdout)


def read(source_dir, *parts):
    with open(os.path.join(source_dir, *parts)) as f:
        return f.read()


def bootstrap_packages(text):
    """The names in scripts/bootstrap's PACKAGES=( ... ) array."""
    m = re.search(r"^PACKAGES=\((.*?)^\)", text, re.S | re.M)
    if not m:
        return set()
    names = set()
    for line in m.group(1).splitlines():
        names.update(line.split("#", 1)[0].split())
    return names


def docs_secret_keys(text):
    """Keys of the `kubectl create secret generic sic-secrets` command in docs/deploy.md."""
    m = re.search(r"kubectl[^\n]*create secret generic %s((?:[^\n]*\\\n)*[^\n]*)" % SECRET, text)
    return set(re.findall(r"--from-literal=([\w.-]+)=", m.group(0))) if m else set()


class Context:
    """What the manifests are checked against."""

    def __init__(self, source_dir, helps):
        self.source_dir = source_dir
        self.helps = helps  # binary name -> parse_help()
        queue = read(source_dir, "common", "queue.cc")
        m = re.search(r'kWorkers\s*=\s*"([^"]+)"', queue)
        self.workers_group = m.group(1) if m else None
        # trials_prefix_(prefix + ":trials:"): a class's stream is <prefix>:trials:<class>.
        m = re.search(r'trials_prefix_\(prefix \+ "(:[\w-]+:)"\)', queue)
        self.trials_suffix = m.group(1) if m else None
        coordinator_src = "".join(read(source_dir, "coordinator", f)
                                  for f in sorted(os.listdir(os.path.join(source_dir, "coordinator")))
                                  if f.endswith(".cc"))
        self.routes = set(re.findall(r'"(/[a-z]+)"', coordinator_src))
        # The REST route table's GET rows: {"GET", "/api/v1/...", ...}.
        self.get_routes = set(re.findall(r'\{"GET",\s*"(/api/v1/[^"]*)"', coordinator_src))
        self.secret_keys = docs_secret_keys(read(source_dir, "docs", "deploy.md"))
        self.dockerfiles = {name: read(source_dir, "deploy", name) for name, _ in IMAGES.values()}


# ---------------------------------------------------------------- helpers

def name_of(obj):
    return "%s/%s" % (obj.get("kind"), obj.get("metadata", {}).get("name"))


def pod_spec(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return spec.get("template", {}).get("spec"), spec.get("template", {}).get("metadata", {}).get("labels", {})
    if kind == "ScaledJob":
        t = spec.get("jobTargetRef", {}).get("template", {})
        return t.get("spec"), t.get("metadata", {}).get("labels", {})
    return None, None


def pods(objects):
    """(object, pod spec, pod labels) for every workload."""
    for obj in objects:
        spec, labels = pod_spec(obj)
        if spec is not None:
            yield obj, spec, labels or {}


def image_name(image):
    """registry/path/name:tag@digest -> name."""
    image = image.split("@")[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":")[0]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def label_selects(selector, labels):
    """A NetworkPolicy's LabelSelector (matchLabels; empty selects everything)."""
    return all(labels.get(k) == v for k, v in ((selector or {}).get("matchLabels") or {}).items())


def admits_keda(policy, port, ports):
    """Whether a NetworkPolicy's ingress rules let KEDA's operator reach `port`
    (a container port number) of the pods it guards; ports: container_ports()."""
    for rule in policy["spec"].get("ingress", []) or []:
        rule_ports = rule.get("ports")
        if rule_ports and not any(ports.get(p.get("port"), p.get("port")) == port for p in rule_ports):
            continue
        sources = rule.get("from")
        if not sources:
            return True  # from anywhere
        for src in sources:
            ns, pod = src.get("namespaceSelector"), src.get("podSelector")
            # A podSelector alone means pods of the policy's own namespace.
            if ns is not None and label_selects(ns, KEDA_NAMESPACE) and label_selects(pod, KEDA_OPERATOR):
                return True
    return False


def host_port(value):
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None


def parse_args(where, binary, args, options, errors):
    """Flags given in args -> {flag: value or True}; unknown or malformed ones are errors."""
    given = {}
    i = 0
    while i < len(args):
        arg = str(args[i])
        if not arg.startswith("-"):
            errors.append("%s: %s: stray argument %r" % (where, binary, arg))
            i += 1
            continue
        name, eq, value = arg.partition("=")
        option = options.get(name)
        if option is None:
            errors.append("%s: %s has no flag %s (its --help lists %s)"
                          % (where, binary, name, " ".join(sorted(o for o in options if o.startswith("--")))))
            i += 1
            continue
        if option["value"]:
            if not eq:
                if i + 1 >= len(args) or str(args[i + 1]).startswith("--"):
                    errors.append("%s: %s %s needs a value" % (where, binary, name))
                    i += 1
                    continue
                value = str(args[i + 1])
                i += 1
            given[name] = value
        else:
            if eq:
                errors.append("%s: %s %s is a flag and takes no value" % (where, binary, name))
            given[name] = True
        i += 1
    return given


def setting(given, env, options, flag):
    """A flag's effective value: the flag, else its environment variable, else its default."""
    if flag in given:
        return given[flag]
    var = options.get(flag, {}).get("env")
    if var and var in env:
        return env[var]
    return options.get(flag, {}).get("default")


def container_ports(spec):
    ports = {}
    for c in spec.get("containers", []):
        for p in c.get("ports", []) or []:
            if "name" in p:
                ports[p["name"]] = p["containerPort"]
            ports[p["containerPort"]] = p["containerPort"]
    return ports


def mounted(container, spec, path):
    """The volume a path lies on in this container, or None."""
    best = None
    for m in container.get("volumeMounts", []) or []:
        mp = m["mountPath"].rstrip("/") or "/"
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best[0]):
                best = (mp, m["name"])
    if best is None:
        return None
    for v in spec.get("volumes", []) or []:
        if v["name"] == best[1]:
            return v
    return None


# ---------------------------------------------------------------- manifests

def check_render(overlay, objects, ctx):
    errors = []
    services = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Service"}
    namespaces = {o.get("metadata", {}).get("namespace") for o in objects if o.get("kind") != "Namespace"}
    namespace = namespaces.pop() if len(namespaces) == 1 else None
    if namespace is None:
        errors.append("%s: objects in several namespaces or none: %s" % (overlay, namespaces))
    redis_clients = []  # pod labels of every pod that connects to Redis
    prefixes = set()
    secret_refs = []
    coordinators = []  # {"labels", "http" (port), "auth_reads", "token" (secretKeyRef (name, key) or None)}
    pools = {}  # workload (name_of) -> {"classes": [...], "slots": trials per worker (str) or None}

    def service_port(where, host, port):
        """host:port names a Service of this render and one of its ports."""
        svc_name = host.split(".")[0]
        svc = services.get(svc_name)
        if svc is None:
            errors.append("%s: %s is not a Service of this deployment (Services: %s)"
                          % (where, host, " ".join(sorted(services))))
            return
        if "." in host and host.split(".")[1] != namespace:
            errors.append("%s: %s names namespace %s, the objects are in %s" % (where, host, host.split(".")[1], namespace))
        if port not in [p["port"] for p in svc["spec"].get("ports", [])]:
            errors.append("%s: Service %s has no port %s" % (where, svc_name, port))

    for obj, spec, labels in pods(objects):
        for c in spec.get("containers", []):
            where = "%s: %s container %s" % (overlay, name_of(obj), c["name"])
            image = image_name(c.get("image", ""))
            for e in c.get("env", []) or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secret_refs.append((where, ref.get("name"), ref.get("key")))
            if image == "redis":
                if not re.match(r"redis:7\.", c["image"].rsplit("/", 1)[-1]):
                    errors.append("%s: Redis image %s: the service needs Redis 7" % (where, c["image"]))
                continue
            if image not in IMAGES:
                errors.append("%s: image %s is built by no Dockerfile in deploy/ (%s)"
                              % (where, c.get("image"), " ".join(IMAGES)))
                continue
            command = c.get("command") or []
            binary = os.path.basename(command[0]) if command else None
            if binary not in IMAGES[image][1]:
                errors.append("%s: command %s: image %s holds %s" % (where, command, image, IMAGES[image][1]))
                continue
            if command[0] != "/usr/local/bin/" + binary:
                errors.append("%s: command %s: the image installs %s" % (where, command[0], "/usr/local/bin/" + binary))
            options = ctx.helps[binary]
            given = parse_args(where, binary, c.get("args") or [], options, errors)
            env = {e["name"]: e.get("value") for e in c.get("env", []) or []}
            readable = {o["env"] for o in options.values() if o["env"]}
            for var in env:
                if var.startswith("SIC_") and var not in readable:
                    errors.append("%s: %s reads no variable %s (it reads %s)" % (where, binary, var, " ".join(sorted(readable))))
            ports = container_ports(spec)
            read_only = (c.get("securityContext") or {}).get("readOnlyRootFilesystem")

            # Redis: through a Service of this deployment, never loopback.
            redis = setting(given, env, options, "--redis")
            if redis is not None:
                redis_clients.append((name_of(obj), labels))
                host, port = host_port(redis)
                service_port(where + " --redis", host, port)
            prefixes.add(setting(given, env, options, "--prefix"))

            if binary == "sic-coordinator":
                for flag, port_name in (("--listen", "grpc"), ("--http", "http")):
                    host, port = host_port(setting(given, env, options, flag) or "")
                    if host not in ("0.0.0.0", "::"):
                        errors.append("%s: %s %s:%s: other pods cannot reach it; listen on 0.0.0.0"
                                      % (where, flag, host, port))
                    if ports.get(port_name) != port:
                        errors.append("%s: %s port %s, but containerPort %r is %s"
                                      % (where, flag, port, port_name, ports.get(port_name)))
                db = setting(given, env, options, "--db")
                volume = mounted(c, spec, os.path.dirname(db) if db.startswith("/") else "")
                if not volume or "persistentVolumeClaim" not in volume:
                    errors.append("%s: --db %s is not on a persistent volume" % (where, db))
                web = setting(given, env, options, "--web-dir")
                if not web or "COPY --from=web /web %s\n" % web not in ctx.dockerfiles["coordinator.Dockerfile"]:
                    errors.append("%s: --web-dir %s: deploy/coordinator.Dockerfile does not copy the dashboard there"
                                  % (where, web))
                token_ref = [(e["valueFrom"]["secretKeyRef"].get("name"), e["valueFrom"]["secretKeyRef"].get("key"))
                             for e in c.get("env", []) or []
                             if e["name"] == options.get("--token", {}).get("env")
                             and "secretKeyRef" in (e.get("valueFrom") or {})]
                auth_reads = setting(given, env, options, "--auth-reads")
                coordinators.append({
                    "labels": labels,
                    "spec": spec,
                    "http": host_port(setting(given, env, options, "--http") or "")[1],
                    "auth_reads": auth_reads is True or str(auth_reads).lower() in ("1", "true", "yes", "on"),
                    "token": token_ref[0] if token_ref else None,
                })
                if obj["kind"] == "Deployment" and (obj["spec"].get("replicas", 1) != 1
                                                   or obj["spec"].get("strategy", {}).get("type") != "Recreate"):
                    errors.append("%s: the coordinator writes SQLite alone: replicas 1 and strategy Recreate" % where)

            if binary == "sic-worker":
                args = [str(a) for a in c.get("args") or []]
                classes = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--class"]
                classes += [a.split("=", 1)[1] for a in args if a.startswith("--class=")]
                gpus = setting(given, env, options, "--gpus")
                if gpus:
                    limit = ((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")
                    if gpus == "all":
                        slots = str(limit) if limit is not None else None
                        if limit is None:
                            errors.append("%s: --gpus all without an nvidia.com/gpu limit: the worker would see "
                                          "every GPU of its node, or none" % where)
                    else:
                        slots = str(len(str(gpus).split(",")))
                        if limit is not None and int(slots) > int(limit):
                            errors.append("%s: --gpus %s lists %s GPUs, but the pod gets %s (nvidia.com/gpu)"
                                          % (where, gpus, slots, limit))
                else:
                    slots = setting(given, env, options, "--concurrency")
                pools[name_of(obj)] = {"classes": classes or (["cuda"] if gpus else ["cpu"]), "slots": slots}
                ckpt = setting(given, env, options, "--checkpoint-dir")
                volume = mounted(c, spec, ckpt) if ckpt and ckpt.startswith("/") else None
                if not volume or "persistentVolumeClaim" not in volume:
                    errors.append("%s: --checkpoint-dir %s is not a shared persistent volume" % (where, ckpt))
                if spec.get("terminationGracePeriodSeconds", 30) < 60:
                    errors.append("%s: terminationGracePeriodSeconds %s leaves too little time to checkpoint"
                                  % (where, spec.get("terminationGracePeriodSeconds", 30)))

            if read_only:
                for path in ("/tmp",):
                    if not mounted(c, spec, path):
                        errors.append("%s: read-only root file system and no volume at %s" % (where, path))

            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = c.get(kind) or {}
                for action in ("httpGet", "tcpSocket"):
                    if action in probe:
                        port = probe[action].get("port")
                        if port not in ports:
                            errors.append("%s: %s port %s is not a container port" % (where, kind, port))
                if "httpGet" in probe and probe["httpGet"].get("path") not in ctx.routes:
                    errors.append("%s: %s path %s is not a route of the coordinator (%s)"
                                  % (where, kind, probe["httpGet"].get("path"), " ".join(sorted(ctx.routes))))

    # Services select pods that have their target ports.
    for svc in services.values():
        where = "%s: Service %s" % (overlay, svc["metadata"]["name"])
        selected = [spec for _, spec, labels in pods(objects) if selects(svc["spec"].get("selector"), labels)]
        if not selected:
            errors.append("%s: selects no pod" % where)
            continue
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            if any(target not in container_ports(spec) for spec in selected):
                errors.append("%s: targetPort %s is not a port of the pods it selects" % (where, target))

    # KEDA: triggers of known types, each reading what the workers and the
    # coordinator really serve, through a Service KEDA's operator can reach,
    # scaling something real.
    auths = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "TriggerAuthentication"}
    deployments = {o["metadata"]["name"] for o in objects if o.get("kind") == "Deployment"}
    if len(prefixes) != 1:
        errors.append("%s: the pods use different --prefix %s" % (overlay, sorted(map(str, prefixes))))
    prefix = next(iter(prefixes)) if len(prefixes) == 1 else None
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]

    def auth_params(where, t):
        """The TriggerAuthentication a trigger names: {parameter: (secret, key)}, or None."""
        name = (t.get("authenticationRef") or {}).get("name")
        auth = auths.get(name)
        if auth is None:
            errors.append("%s: no TriggerAuthentication %s" % (where, name))
            return None
        refs = auth["spec"].get("secretTargetRef", []) or []
        for ref in refs:
            secret_refs.append((where, ref.get("name"), ref.get("key")))
        return {ref.get("parameter"): (ref.get("name"), ref.get("key")) for ref in refs}

    def target_value(where, md, key, pool):
        # One worker per `slots` trials: a trigger's target is trials per worker.
        per_worker = pool["slots"]
        if per_worker is not None and md.get(key) != per_worker:
            errors.append("%s: %s %s, but each worker runs %s trials at once (--concurrency or --gpus): one worker per %s"
                          % (where, key, md.get(key), per_worker, per_worker))

    def redis_streams(where, t, md, pool):
        streams = {"%s%s%s" % (prefix, ctx.trials_suffix, c): c for c in pool["classes"]}
        if md.get("stream") not in streams:
            errors.append("%s: stream %s, but the workers use %s" % (where, md.get("stream"), " ".join(sorted(streams))))
        else:
            watched.setdefault(("redis-streams", streams[md["stream"]]), []).append(where)
        if "consumerGroup" in md and md["consumerGroup"] != ctx.workers_group:
            errors.append("%s: consumerGroup %s, but the workers' group is %s"
                          % (where, md["consumerGroup"], ctx.workers_group))
        target_value(where, md, "streamLength", pool)
        host, port = host_port(md.get("address", ""))
        if host.count(".") < 1:
            errors.append("%s: address %s: KEDA runs in another namespace; name the Service with its namespace"
                          % (where, md.get("address")))
        service_port(where + " address", host, port)
        auth_params(where, t)
        return host.split(".")[0], port

    def metrics_api(where, t, md, pool):
        url = urllib.parse.urlsplit(md.get("url", ""))
        host = url.hostname or ""
        try:
            port = url.port or {"http": 80, "https": 443}.get(url.scheme)
        except ValueError:
            port = None
        if url.scheme != "http":
            errors.append("%s: url %s: the coordinator serves plain http://" % (where, md.get("url")))
        if host.count(".") < 1:
            errors.append("%s: url %s: KEDA runs in another namespace; name the Service with its namespace"
                          % (where, md.get("url")))
        service_port(where + " url", host, port)
        # The Service's port leads to a coordinator's --http listener.
        svc = services.get(host.split(".")[0])
        if svc is not None:
            served = [p for p in svc["spec"].get("ports", []) if p["port"] == port]
            behind = [co for co in coordinators if selects(svc["spec"].get("selector"), co["labels"])]
            if served and not any(container_ports(co["spec"]).get(served[0].get("targetPort", port)) == co["http"]
                                  for co in behind):
                errors.append("%s: url %s: Service %s port %s does not lead to the coordinator's --http port"
                              % (where, md.get("url"), svc["metadata"]["name"], port))
        if url.path not in ctx.get_routes:
            errors.append("%s: url path %s is not a GET route of the coordinator (%s)"
                          % (where, url.path, " ".join(sorted(ctx.get_routes))))
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        asked = query.get("class", [None])
        if set(query) != {"class"} or len(asked) != 1 or asked[0] not in pool["classes"]:
            errors.append("%s: url %s: the demand of the workers' class: ?class=%s"
                          % (where, md.get("url"), "|".join(pool["classes"])))
        else:
            watched.setdefault(("metrics-api", asked[0]), []).append(where)
        if md.get("valueLocation") != DEMAND_FIELD:
            errors.append("%s: valueLocation %s: /api/v1/demand counts the trials wanting a worker in %r"
                          % (where, md.get("valueLocation"), DEMAND_FIELD))
        if md.get("format", "json") != "json":
            errors.append("%s: format %s: the coordinator answers JSON" % (where, md.get("format")))
        target_value(where, md, "targetValue", pool)
        mode = md.get("authMode")
        if mode is None:
            if t.get("authenticationRef"):
                errors.append("%s: authenticationRef without authMode: KEDA would send no token" % where)
            if any(co["auth_reads"] for co in coordinators):
                errors.append("%s: the coordinator runs with --auth-reads, so the route needs its token: "
                              "authMode bearer and a TriggerAuthentication with parameter token" % where)
        elif mode != "bearer":
            errors.append("%s: authMode %s: the coordinator takes its token as a bearer token" % (where, mode))
        else:
            params = auth_params(where, t)
            tokens = {co["token"] for co in coordinators}
            if params is not None and (params.get("token") is None or params["token"] not in tokens):
                errors.append("%s: bearer token from %s, but the coordinator's token is secret %s"
                              % (where, params.get("token"), " ".join("%s key %s" % tok for tok in tokens if tok)))
        return host.split(".")[0], port

    # type -> check; returns the (Service, port) that KEDA's operator reads.
    trigger_checks = {"redis-streams": redis_streams, "metrics-api": metrics_api}

    scalers = [o for o in objects if o.get("kind") in ("ScaledObject", "ScaledJob")]
    if not scalers:
        errors.append("%s: no ScaledObject or ScaledJob scales the workers" % overlay)
    scaled = {}  # workload -> the scalers that scale it
    for obj in scalers:
        where = "%s: %s" % (overlay, name_of(obj))
        watched = {}  # (trigger type, class) -> triggers
        if obj["kind"] == "ScaledObject":
            target = obj["spec"]["scaleTargetRef"]
            if target.get("kind", "Deployment") != "Deployment" or target["name"] not in deployments:
                errors.append("%s: scales %s, which is not a Deployment here" % (where, target["name"]))
            workload = "Deployment/%s" % target["name"]
        else:
            workload = name_of(obj)
            calc = (obj["spec"].get("scalingStrategy") or {}).get("multipleScalersCalculation", "max")
            if len(obj["spec"].get("triggers", [])) > 1 and calc != "max":
                errors.append("%s: multipleScalersCalculation %s: each trigger counts the trials wanting a "
                              "worker, so take the max" % (where, calc))
        scaled.setdefault(workload, []).append(name_of(obj))
        pool = pools.get(workload)
        if pool is None:
            errors.append("%s: scales %s, which runs no sic-worker" % (where, workload))
            continue
        for t in obj["spec"].get("triggers", []):
            check = trigger_checks.get(t.get("type"))
            if check is None:
                errors.append("%s: trigger %s: expected one of %s" % (where, t.get("type"), " ".join(sorted(trigger_checks))))
                continue
            twhere = "%s trigger %s" % (where, t.get("name") or t.get("type"))
            svc_name, port = check(twhere, t, t.get("metadata", {}), pool)
            # KEDA's operator, in its own namespace, gets through every NetworkPolicy on the way.
            svc = services.get(svc_name)
            if svc is None:
                continue
            sp = [p for p in svc["spec"].get("ports", []) if p["port"] == port]
            for _, spec, labels in pods(objects):
                if not selects(svc["spec"].get("selector"), labels) or not sp:
                    continue
                ports = container_ports(spec)
                number = ports.get(sp[0].get("targetPort", port))
                for policy in policies:
                    if (label_selects(policy["spec"].get("podSelector"), labels)
                            and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
                            and not admits_keda(policy, number, ports)):
                        errors.append("%s: NetworkPolicy %s shuts KEDA's operator (namespace keda, %s) out of "
                                      "Service %s port %s" % (twhere, policy["metadata"]["name"],
                                                              "app.kubernetes.io/name keda-operator", svc_name, port))

        # A pool scales on every class it serves: its stream and its demand.
        for c in pool["classes"]:
            for kind in ("metrics-api", "redis-streams"):
                if (kind, c) not in watched:
                    errors.append("%s: no %s trigger on class %s, which its workers serve" % (where, kind, c))

    # One scaler per pool, and every pool scaled.
    for workload in pools:
        if len(scaled.get(workload, [])) != 1:
            errors.append("%s: %s is scaled by %s: one scaler per pool" % (overlay, workload,
                                                                            " ".join(scaled.get(workload, [])) or "none"))

    # One Secret, made by the command in docs/deploy.md.
    for where, name, key in secret_refs:
        if name != SECRET or key not in ctx.secret_keys:
            errors.append("%s: secret %s key %s: docs/deploy.md creates %s with keys %s"
                          % (where, name, key, SECRET, " ".join(sorted(ctx.secret_keys))))

    # Redis admits every pod that talks to it.
    redis_labels = [labels for _, spec, labels in pods(objects)
                    if any(image_name(c.get("image", "")) == "redis" for c in spec.get("containers", []))]
    redis_policies = [p for p in policies if any(selects(p["spec"]["podSelector"].get("matchLabels"), l)
                                                 for l in redis_labels)]
    if not redis_policies:
        errors.append("%s: no NetworkPolicy guards Redis" % overlay)
    for who, labels in redis_clients:
        admitted = any(selects(src["podSelector"].get("matchLabels"), labels)
                       for p in redis_policies for rule in p["spec"].get("ingress", [])
                       for src in rule.get("from", []) if "podSelector" in src and "namespaceSelector" not in src)
        if redis_policies and not admitted:
            errors.append("%s: %s talks to Redis, but the NetworkPolicy does not admit its pods" % (overlay, who))
    return errors


def worker_pod(objects, kind):
    for obj, spec, labels in pods(objects):
        if obj["kind"] == kind and obj["metadata"]["name"] == "sic-worker":
            return spec, labels
    return None, None


def check_job_pair(deploy_overlay, deploy_objects, jobs_overlay, jobs_objects):
    """The per-trial Jobs run the Deployment's pod, plus --one-shot, --idle-exit-s N and restartPolicy Never."""
    errors = []
    dspec, dlabels = worker_pod(deploy_objects, "Deployment")
    jspec, jlabels = worker_pod(jobs_objects, "ScaledJob")
    if dspec is None or jspec is None:
        return ["%s/%s: no worker Deployment or ScaledJob to compare" % (deploy_overlay, jobs_overlay)]
    jspec = copy.deepcopy(jspec)
    if jspec.pop("restartPolicy", None) != "Never":
        errors.append("%s: ScaledJob/sic-worker: restartPolicy must be Never" % jobs_overlay)
    for c in jspec.get("containers", []):
        if "--one-shot" not in c.get("args", []):
            errors.append("%s: ScaledJob/sic-worker: container %s runs without --one-shot" % (jobs_overlay, c["name"]))
        args = c.get("args", [])
        if "--idle-exit-s" not in args[:-1]:
            errors.append("%s: ScaledJob/sic-worker: container %s has no --idle-exit-s (an idle Job would hold "
                          "its GPU forever)" % (jobs_overlay, c["name"]))
        else:
            i = args.index("--idle-exit-s")
            args = args[:i] + args[i + 2:]
        c["args"] = [a for a in args if a != "--one-shot"]
    if jspec != dspec:
        a = json.dumps(dspec, indent=1, sort_keys=True).splitlines()
        b = json.dumps(jspec, indent=1, sort_keys=True).splitlines()
        diff = [x for x in b if x not in a][:3] + ["vs"] + [x for x in a if x not in b][:3]
        errors.append("%s vs %s: the ScaledJob's pod differs from the worker Deployment's: %s"
                      % (jobs_overlay, deploy_overlay, " ".join(s.strip() for s in diff)))
    if any(dlabels.get(k) != v for k, v in jlabels.items()) or not jlabels:
        errors.append("%s: ScaledJob/sic-worker pod labels %s differ from the Deployment's %s" % (jobs_overlay, jlabels, dlabels))
    return errors


# ---------------------------------------------------------------- Dockerfiles

def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


# Dockerfile instructions (the Dockerfile reference); anything else is a typo
# a builder rejects. The CUDA image is never built here: this is what checks
# that it still parses (scripts/image-check also hands it to buildah).
INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def check_syntax(where, text, ins):
    """Unknown instructions, arguments missing, a continuation that never ends, ARG before the first FROM only."""
    errors = []
    if text.rstrip().endswith("\\"):
        errors.append("%s: the last line continues into nothing" % where)
    seen_from = False
    for word, rest in ins:
        if word not in INSTRUCTIONS:
            errors.append("%s: %s: not a Dockerfile instruction" % (where, word))
        elif not rest:
            errors.append("%s: %s without arguments" % (where, word))
        elif not seen_from and word not in ("ARG", "FROM"):
            errors.append("%s: %s before the first FROM" % (where, word))
        seen_from = seen_from or word == "FROM"
        if word in ("ENTRYPOINT", "CMD") and rest.startswith("["):
            try:
                json.loads(rest)
            except ValueError:
                errors.append("%s: %s %s: not a JSON array" % (where, word, rest))
    return errors


def check_dockerfile(name, text, ctx_bootstrap, build_type, binaries):
    where = "deploy/" + name
    ins = dockerfile_instructions(text)
    errors = check_syntax(where, text, ins)
    args = {}
    stages = []  # [(name or None, image, [instructions])]
    for word, rest in ins:
        if word == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key] = default
        if word == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), parts[0])
            stage = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None
            stages.append((stage, image, []))
        elif stages:
            stages[-1][2].append((word, rest))
    if len(stages) < 2:
        errors.append("%s: one stage; build and runtime must be separate stages" % where)
        return errors
    names = []
    for stage, image, body in stages:
        if image not in names:
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or tag == "latest":
                errors.append("%s: FROM %s: pin a tag" % (where, image))
        if stage:
            names.append(stage)
        for word, rest in body:
            m = re.match(r"--from=(\S+)", rest)
            if word == "COPY" and m and m.group(1) not in names:
                errors.append("%s: COPY --from=%s: no such earlier stage" % (where, m.group(1)))
    final = stages[-1][2]
    users = [rest for word, rest in final if word == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errors.append("%s: the runtime stage must end with a non-root USER" % where)

    # The build stage: bootstrap's packages, built as scripts/build builds.
    build = [body for stage, _, body in stages if stage == "build"]
    if not build:
        errors.append("%s: no stage named build" % where)
        return errors
    run = " ".join(rest for word, rest in build[0] if word == "RUN")
    installed = set()
    for m in re.finditer(r"apt-get install ((?:-\S+ )*)([^&;]*)", run):
        installed.update(w for w in m.group(2).split() if not w.startswith("-"))
    wanted = ctx_bootstrap - NOT_FOR_IMAGES - DOCKERFILE_SKIPS[name]
    for p in sorted(wanted - installed):
        errors.append("%s: the build stage lacks %s, which scripts/bootstrap installs to build" % (where, p))
    for p in sorted(installed - ctx_bootstrap - DOCKERFILE_EXTRAS):
        errors.append("%s: the build stage installs %s, which scripts/bootstrap does not" % (where, p))
    if "-G Ninja" not in run or "-DCMAKE_BUILD_TYPE=%s" % build_type not in run:
        errors.append("%s: build with -G Ninja -DCMAKE_BUILD_TYPE=%s, as scripts/build does" % (where, build_type))
    built = set()
    for m in re.finditer(r"ninja -C \S+(?: -j \S+)? ([\w -]+?)(?:&&|$)", run):
        built.update(m.group(1).split())
    copied = " ".join(rest for word, rest in final if word == "COPY")
    for b in binaries:
        if b not in built:
            errors.append("%s: the build stage does not build %s" % (where, b))
        if not re.search(r"/%s\b.* /usr/local/bin/" % re.escape(b), copied):
            errors.append("%s: the runtime stage does not install %s in /usr/local/bin/" % (where, b))
    return errors


def check_dockerignores(source_dir):
    errors = []
    texts = {}
    for dockerfile, _ in IMAGES.values():
        path = os.path.join(source_dir, "deploy", dockerfile + ".dockerignore")
        if not os.path.exists(path):
            errors.append("deploy/%s.dockerignore: missing (the build would send build*/ and .git)" % dockerfile)
            continue
        texts[dockerfile] = read(source_dir, "deploy", dockerfile + ".dockerignore")
        for pattern in (".git", "build*/", "**/node_modules"):
            if pattern not in texts[dockerfile].split("\n"):
                errors.append("deploy/%s.dockerignore: does not exclude %s" % (dockerfile, pattern))
    if len(set(texts.values())) > 1:
        errors.append("deploy/*.dockerignore: the three differ; keep them identical")
    return errors


# ---------------------------------------------------------------- main

def check_all(source_dir, helps):
    ctx = Context(source_dir, helps)
    errors = []
    if not ctx.workers_group or not ctx.trials_suffix:
        errors.append("common/queue.cc: cannot find the trial stream's name and group")
    if not ctx.secret_keys:
        errors.append("docs/deploy.md: no `kubectl create secret generic %s` command" % SECRET)
    renders = {}
    for overlay in OVERLAYS:
        renders[overlay] = render(source_dir, overlay)
        errors += check_render(overlay, renders[overlay], ctx)
    for a, b in JOB_PAIRS:
        errors += check_job_pair(a, renders[a], b, renders[b])
    packages = bootstrap_packages(read(source_dir, "scripts", "bootstrap"))
    m = re.search(r"-DCMAKE_BUILD_TYPE=(\w+)", read(source_dir, "scripts", "build"))
    for dockerfile, binaries in IMAGES.values():
        errors += check_dockerfile(dockerfile, ctx.dockerfiles[dockerfile], packages, m.group(1), binaries)
    errors += check_dockerignores(source_dir)
    objects = sum(len(r) for r in renders.values())
    return errors, "%d overlays (%d objects), %d Dockerfiles, flags of %s" % (
        len(renders), objects, len(IMAGES), " ".join("%s (%d)" % (b, len(o)) for b, o in sorted(helps.items())))


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__.split("usage: ")[1])
    source_dir = argv[1]
    helps = {"sic-coordinator": binary_help(argv[2]), "sic-worker": binary_help(argv[3])}
    errors, summary = check_all(source_dir, helps)
    for e in errors:
        print("error: " + e)
    print("check_deploy: %s: %d errors" % (summary, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
