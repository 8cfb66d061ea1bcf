#!/usr/bin/python3
"""check_deploy.py must catch what it claims to: each test breaks one thing in
a copy of the real rendered overlays (or Dockerfiles) and expects that error,
and the unbroken copy must pass, so the error comes from the break.

usage: check_deploy_test.py SOURCE_DIR SIC_COORDINATOR SIC_WORKER [unittest args]"""

import copy
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_deploy as cd  # noqa: E402

SOURCE = COORDINATOR = WORKER = None
CTX = RENDERS = None


def find(objects, kind, name):
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError("%s/%s" % (kind, name))


def container(objects, kind, name):
    spec, _ = cd.pod_spec(find(objects, kind, name))
    return spec["containers"][0]


class ManifestChecks(unittest.TestCase):
    def setUp(self):
        self.gpu = copy.deepcopy(RENDERS["gpu"])
        self.jobs = copy.deepcopy(RENDERS["gpu-jobs"])

    def assertCaught(self, objects, *needles):
        errors = cd.check_render("gpu", objects, CTX)
        for needle in needles:
            self.assertTrue(any(needle in e for e in errors), "%r not in %s" % (needle, errors))

    def test_unbroken_overlays_pass(self):
        for overlay, objects in RENDERS.items():
            self.assertEqual(cd.check_render(overlay, objects, CTX), [], overlay)
        self.assertEqual(cd.check_job_pair("gpu", self.gpu, "gpu-jobs", self.jobs), [])

    def test_unknown_flag(self):
        container(self.gpu, "Deployment", "sic-worker")["args"] += ["--checkpoint-directory", "/x"]
        self.assertCaught(self.gpu, "sic-worker has no flag --checkpoint-directory")

    def test_option_without_value(self):
        container(self.gpu, "Deployment", "sic-coordinator")["args"].append("--db")
        self.assertCaught(self.gpu, "sic-coordinator --db needs a value")

    def test_flag_with_value(self):
        container(self.gpu, "Deployment", "sic-worker")["args"].append("--one-shot=yes")
        self.assertCaught(self.gpu, "--one-shot is a flag and takes no value")

    def test_coordinator_without_http_listens_on_loopback(self):
        c = container(self.gpu, "Deployment", "sic-coordinator")
        i = c["args"].index("--http")
        del c["args"][i:i + 2]
        self.assertCaught(self.gpu, "--http 127.0.0.1:8080: other pods cannot reach it")

    def test_container_port_differs_from_flag(self):
        c = container(self.gpu, "Deployment", "sic-coordinator")
        for p in c["ports"]:
            if p["name"] == "http":
                p["containerPort"] = 8081
        self.assertCaught(self.gpu, "--http port 8080, but containerPort 'http' is 8081")

    def test_misspelt_variable(self):
        c = container(self.gpu, "Deployment", "sic-worker")
        c["env"][0]["name"] = "SIC_REDIS_PASSWD"
        self.assertCaught(self.gpu, "sic-worker reads no variable SIC_REDIS_PASSWD")

    def test_redis_through_no_service(self):
        c = container(self.gpu, "Deployment", "sic-worker")
        c["args"][c["args"].index("--redis") + 1] = "redis:6379"
        self.assertCaught(self.gpu, "redis is not a Service of this deployment")

    def test_wrong_stream(self):
        self.trigger("redis-streams")["metadata"]["stream"] = "sic:trial"
        self.assertCaught(self.gpu, "stream sic:trial, but the workers use sic:trials:cuda")

    def test_gpu_pool_on_the_cpu_stream_and_demand(self):
        # The cuda pool scaling on cpu trials would start GPU nodes for trials they never claim.
        self.trigger("redis-streams")["metadata"]["stream"] = "sic:trials:cpu"
        self.demand()["metadata"]["url"] = "http://sic-coordinator-http.sic-sweep.svc:8080/api/v1/demand?class=cpu"
        self.assertCaught(self.gpu, "stream sic:trials:cpu, but the workers use sic:trials:cuda",
                          "/api/v1/demand?class=cpu: the demand of the workers' class: ?class=cuda",
                          "no metrics-api trigger on class cuda", "no redis-streams trigger on class cuda")

    def test_demand_of_every_class(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator-http.sic-sweep.svc:8080/api/v1/demand"
        self.assertCaught(self.gpu, "the demand of the workers' class: ?class=cuda")

    def test_workers_of_another_class_than_their_scaler(self):
        c = container(self.gpu, "Deployment", "sic-worker")
        c["args"][c["args"].index("--class") + 1] = "cuda-a100"
        self.assertCaught(self.gpu, "stream sic:trials:cuda, but the workers use sic:trials:cuda-a100")

    def test_lab_pools_each_have_their_scaler(self):
        lab = copy.deepcopy(RENDERS["lab"])
        self.assertEqual(cd.check_render("lab", lab, CTX), [])
        lab = [o for o in lab if not (o["kind"] == "ScaledObject" and o["metadata"]["name"] == "sic-worker-cpu")]
        errors = cd.check_render("lab", lab, CTX)
        self.assertTrue(any("Deployment/sic-worker-cpu is scaled by none: one scaler per pool" in e for e in errors),
                        errors)
        lab = copy.deepcopy(RENDERS["lab"])
        find(lab, "ScaledObject", "sic-worker-cpu")["spec"]["scaleTargetRef"]["name"] = "sic-worker"
        errors = cd.check_render("lab", lab, CTX)
        self.assertTrue(any("is scaled by ScaledObject/sic-worker ScaledObject/sic-worker-cpu" in e for e in errors),
                        errors)

    def test_gpus_all_without_a_gpu_limit(self):
        c = container(self.gpu, "Deployment", "sic-worker")
        del c["resources"]["limits"]["nvidia.com/gpu"]
        self.assertCaught(self.gpu, "--gpus all without an nvidia.com/gpu limit")

    def test_wrong_consumer_group(self):
        self.trigger("redis-streams")["metadata"]["consumerGroup"] = "worker"
        self.assertCaught(self.gpu, "consumerGroup worker, but the workers' group is workers")

    def test_keda_address_without_namespace(self):
        self.trigger("redis-streams")["metadata"]["address"] = "sic-redis:6379"
        self.assertCaught(self.gpu, "name the Service with its namespace")

    def test_keda_address_in_another_namespace(self):
        md = self.trigger("redis-streams")["metadata"]
        md["address"] = "sic-redis.default.svc:6379"
        self.assertCaught(self.gpu, "names namespace default, the objects are in sic-sweep")

    def trigger(self, kind, objects=None, scaler="ScaledObject"):
        """The worker scaler's trigger of that type."""
        triggers = find(objects or self.gpu, scaler, "sic-worker")["spec"]["triggers"]
        return [t for t in triggers if t["type"] == kind][0]

    def demand(self, objects=None, scaler="ScaledObject"):
        return self.trigger("metrics-api", objects, scaler)

    def test_unknown_trigger_type(self):
        self.demand()["type"] = "prometheus"
        self.assertCaught(self.gpu, "trigger prometheus: expected one of metrics-api redis-streams")

    def test_demand_through_the_grpc_service(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator.sic-sweep.svc:8080/api/v1/demand"
        self.assertCaught(self.gpu, "trigger demand url: Service sic-coordinator has no port 8080")

    def test_demand_on_the_grpc_port(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator.sic-sweep.svc:50051/api/v1/demand"
        self.assertCaught(self.gpu, "Service sic-coordinator port 50051 does not lead to the coordinator's --http port")

    def test_demand_without_namespace(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator-http:8080/api/v1/demand"
        self.assertCaught(self.gpu, "trigger demand: url http://sic-coordinator-http:8080/api/v1/demand: KEDA runs "
                                    "in another namespace")

    def test_demand_in_another_namespace(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator-http.default.svc:8080/api/v1/demand"
        self.assertCaught(self.gpu, "names namespace default, the objects are in sic-sweep")

    def test_demand_over_https(self):
        self.demand()["metadata"]["url"] = "https://sic-coordinator-http.sic-sweep.svc:8080/api/v1/demand"
        self.assertCaught(self.gpu, "the coordinator serves plain http://")

    def test_demand_on_an_unknown_route(self):
        self.demand()["metadata"]["url"] = "http://sic-coordinator-http.sic-sweep.svc:8080/api/v1/demands"
        self.assertCaught(self.gpu, "url path /api/v1/demands is not a GET route of the coordinator")

    def test_demand_value_location(self):
        self.demand()["metadata"]["valueLocation"] = "unfed"
        self.assertCaught(self.gpu, "valueLocation unfed: /api/v1/demand counts the trials wanting a worker in 'demand'")

    def test_demand_target_against_concurrency(self):
        self.demand()["metadata"]["targetValue"] = "2"
        self.assertCaught(self.gpu, "targetValue 2, but each worker runs 1 trials at once")
        # Two GPUs per worker: targetValue "2" and streamLength "2" are right, "1" is not.
        self.gpu = copy.deepcopy(RENDERS["gpu"])
        c = container(self.gpu, "Deployment", "sic-worker")
        c["resources"]["limits"]["nvidia.com/gpu"] = 2
        self.demand()["metadata"]["targetValue"] = "2"
        self.assertCaught(self.gpu, "trigger unfinished-trials: streamLength 1, but each worker runs 2 trials at once")
        self.assertFalse([e for e in cd.check_render("gpu", self.gpu, CTX) if "targetValue" in e])
        # The same with --concurrency on the cpu pool.
        cpu = copy.deepcopy(RENDERS["cpu"])
        c = container(cpu, "Deployment", "sic-worker")
        c["args"][c["args"].index("--concurrency") + 1] = "2"
        errors = cd.check_render("cpu", cpu, CTX)
        self.assertTrue(any("targetValue 1, but each worker runs 2 trials at once" in e for e in errors), errors)

    def test_demand_token_needed_with_auth_reads(self):
        t = self.demand()
        del t["metadata"]["authMode"], t["authenticationRef"]
        # Reads are open: no token needed.
        self.assertEqual(cd.check_render("gpu", self.gpu, CTX), [])
        container(self.gpu, "Deployment", "sic-coordinator")["args"].append("--auth-reads")
        self.assertCaught(self.gpu, "the coordinator runs with --auth-reads, so the route needs its token")
        # The same through the environment.
        self.gpu = copy.deepcopy(RENDERS["gpu"])
        t = self.demand()
        del t["metadata"]["authMode"], t["authenticationRef"]
        container(self.gpu, "Deployment", "sic-coordinator")["env"].append({"name": "SIC_AUTH_READS", "value": "1"})
        self.assertCaught(self.gpu, "the coordinator runs with --auth-reads")

    def test_demand_auth_without_mode(self):
        del self.demand()["metadata"]["authMode"]
        self.assertCaught(self.gpu, "authenticationRef without authMode: KEDA would send no token")

    def test_demand_other_auth_mode(self):
        self.demand()["metadata"]["authMode"] = "apiKey"
        self.assertCaught(self.gpu, "authMode apiKey: the coordinator takes its token as a bearer token")

    def test_demand_bearer_from_another_key(self):
        find(self.gpu, "TriggerAuthentication", "sic-coordinator")["spec"]["secretTargetRef"][0]["key"] = "redis-password"
        self.assertCaught(self.gpu, "bearer token from ('sic-secrets', 'redis-password'), but the coordinator's "
                                    "token is secret sic-secrets key token")

    def test_demand_auth_missing(self):
        self.demand()["authenticationRef"]["name"] = "sic-token"
        self.assertCaught(self.gpu, "trigger demand: no TriggerAuthentication sic-token")

    def test_demand_in_the_jobs(self):
        self.demand(self.jobs, "ScaledJob")["metadata"]["url"] = "http://sic-coordinator-http.sic-sweep.svc:80/api/v1/demand"
        errors = cd.check_render("gpu-jobs", self.jobs, CTX)
        self.assertTrue(any("ScaledJob/sic-worker trigger demand url: Service sic-coordinator-http has no port 80" in e
                            for e in errors), errors)

    def test_jobs_add_up_triggers(self):
        find(self.jobs, "ScaledJob", "sic-worker")["spec"]["scalingStrategy"]["multipleScalersCalculation"] = "sum"
        errors = cd.check_render("gpu-jobs", self.jobs, CTX)
        self.assertTrue(any("multipleScalersCalculation sum" in e for e in errors), errors)

    def test_network_policy_shuts_keda_out_of_the_coordinator(self):
        # A policy of the kind docs/security.md suggests, admitting only the Ingress controller.
        self.gpu.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "sic-coordinator", "namespace": "sic-sweep"},
                         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "sic-coordinator"}},
                                  "policyTypes": ["Ingress"],
                                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                                      "kubernetes.io/metadata.name": "ingress-nginx"}}}],
                                      "ports": [{"protocol": "TCP", "port": 8080}]}]}})
        self.assertCaught(self.gpu, "NetworkPolicy sic-coordinator shuts KEDA's operator (namespace keda, "
                                    "app.kubernetes.io/name keda-operator) out of Service sic-coordinator-http port 8080")
        # Admitting KEDA's operator to the http port (by its name) is enough.
        self.gpu[-1]["spec"]["ingress"].append({"from": [{"namespaceSelector": {"matchLabels": cd.KEDA_NAMESPACE},
                                                          "podSelector": {"matchLabels": cd.KEDA_OPERATOR}}],
                                                "ports": [{"port": "http"}]})
        self.assertEqual(cd.check_render("gpu", self.gpu, CTX), [])

    def test_network_policy_shuts_keda_out_of_redis(self):
        rule = find(self.gpu, "NetworkPolicy", "sic-redis")["spec"]["ingress"][0]
        rule["from"] = [s for s in rule["from"] if "namespaceSelector" not in s]
        self.assertCaught(self.gpu, "trigger unfinished-trials: NetworkPolicy sic-redis shuts KEDA's operator")

    def test_scaled_object_targets_nothing(self):
        find(self.gpu, "ScaledObject", "sic-worker")["spec"]["scaleTargetRef"]["name"] = "worker"
        self.assertCaught(self.gpu, "scales worker, which is not a Deployment here")

    def test_probe_on_unknown_route(self):
        container(self.gpu, "Deployment", "sic-coordinator")["readinessProbe"]["httpGet"]["path"] = "/ready"
        self.assertCaught(self.gpu, "readinessProbe path /ready is not a route of the coordinator")

    def test_probe_on_unknown_port(self):
        container(self.gpu, "Deployment", "sic-coordinator")["livenessProbe"]["httpGet"]["port"] = "web"
        self.assertCaught(self.gpu, "livenessProbe port web is not a container port")

    def test_service_target_port_missing(self):
        find(self.gpu, "Service", "sic-coordinator-http")["spec"]["ports"][0]["targetPort"] = "https"
        self.assertCaught(self.gpu, "Service sic-coordinator-http: targetPort https")

    def test_secret_key_not_in_docs(self):
        container(self.gpu, "Deployment", "sic-worker")["env"][0]["valueFrom"]["secretKeyRef"]["key"] = "redis-pass"
        self.assertCaught(self.gpu, "secret sic-secrets key redis-pass")

    def test_network_policy_shuts_out_workers(self):
        policy = find(self.gpu, "NetworkPolicy", "sic-redis")
        policy["spec"]["ingress"][0]["from"] = [s for s in policy["spec"]["ingress"][0]["from"]
                                                if s.get("podSelector", {}).get("matchLabels", {}).get(
                                                    "app.kubernetes.io/name") != "sic-worker"]
        self.assertCaught(self.gpu, "Deployment/sic-worker talks to Redis, but the NetworkPolicy does not admit")

    def test_checkpoints_not_on_a_volume(self):
        c = container(self.gpu, "Deployment", "sic-worker")
        c["args"][c["args"].index("--checkpoint-dir") + 1] = "/ckpt"
        self.assertCaught(self.gpu, "--checkpoint-dir /ckpt is not a shared persistent volume")

    def test_database_not_on_a_volume(self):
        c = container(self.gpu, "Deployment", "sic-coordinator")
        c["args"][c["args"].index("--db") + 1] = "/var/sic.db"
        self.assertCaught(self.gpu, "--db /var/sic.db is not on a persistent volume")

    def test_web_dir_not_in_image(self):
        c = container(self.gpu, "Deployment", "sic-coordinator")
        c["args"][c["args"].index("--web-dir") + 1] = "/srv/web"
        self.assertCaught(self.gpu, "--web-dir /srv/web: deploy/coordinator.Dockerfile does not copy")

    def test_coordinator_rolling_update(self):
        find(self.gpu, "Deployment", "sic-coordinator")["spec"]["strategy"] = {"type": "RollingUpdate"}
        self.assertCaught(self.gpu, "replicas 1 and strategy Recreate")

    def test_short_grace_period(self):
        cd.pod_spec(find(self.gpu, "Deployment", "sic-worker"))[0]["terminationGracePeriodSeconds"] = 10
        self.assertCaught(self.gpu, "terminationGracePeriodSeconds 10 leaves too little time")

    def test_binary_at_another_path(self):
        container(self.gpu, "Deployment", "sic-worker")["command"] = ["/opt/sic/bin/sic-worker"]
        self.assertCaught(self.gpu, "the image installs /usr/local/bin/sic-worker")

    def test_image_without_dockerfile(self):
        container(self.gpu, "Deployment", "sic-worker")["image"] = "registry.example.com/sic-worker-rocm:1"
        self.assertCaught(self.gpu, "image registry.example.com/sic-worker-rocm:1 is built by no Dockerfile")

    def test_old_redis(self):
        container(self.gpu, "StatefulSet", "sic-redis")["image"] = "redis:6.2"
        self.assertCaught(self.gpu, "the service needs Redis 7")

    def test_jobs_drift_from_deployment(self):
        container(self.jobs, "ScaledJob", "sic-worker")["args"] += ["--lease-ms", "1000"]
        errors = cd.check_job_pair("gpu", self.gpu, "gpu-jobs", self.jobs)
        self.assertTrue(any("the ScaledJob's pod differs" in e for e in errors), errors)

    def test_jobs_without_idle_exit(self):
        c = container(self.jobs, "ScaledJob", "sic-worker")
        i = c["args"].index("--idle-exit-s")
        del c["args"][i:i + 2]
        errors = cd.check_job_pair("gpu", self.gpu, "gpu-jobs", self.jobs)
        self.assertTrue(any("has no --idle-exit-s" in e for e in errors), errors)

    def test_jobs_without_one_shot(self):
        c = container(self.jobs, "ScaledJob", "sic-worker")
        c["args"].remove("--one-shot")
        errors = cd.check_job_pair("gpu", self.gpu, "gpu-jobs", self.jobs)
        self.assertTrue(any("runs without --one-shot" in e for e in errors), errors)


class DockerfileChecks(unittest.TestCase):
    def check(self, name, text):
        packages = cd.bootstrap_packages(cd.read(SOURCE, "scripts", "bootstrap"))
        return cd.check_dockerfile(name, text, packages, "RelWithDebInfo", cd.IMAGES[
            {"coordinator.Dockerfile": "sic-coordinator", "worker-cpu.Dockerfile": "sic-worker-cpu",
             "worker-cuda.Dockerfile": "sic-worker-cuda"}[name]][1])

    def assertCaught(self, name, old, new, needle):
        text = CTX.dockerfiles[name]
        self.assertIn(old, text)
        errors = self.check(name, text.replace(old, new, 1))
        self.assertTrue(any(needle in e for e in errors), "%r not in %s" % (needle, errors))

    def test_unbroken_dockerfiles_pass(self):
        for name in CTX.dockerfiles:
            self.assertEqual(self.check(name, CTX.dockerfiles[name]), [], name)
        self.assertEqual(cd.check_dockerignores(SOURCE), [])

    def test_runs_as_root(self):
        self.assertCaught("coordinator.Dockerfile", "USER 10001:10001", "USER root", "non-root USER")

    def test_unpinned_base(self):
        self.assertCaught("worker-cpu.Dockerfile", "FROM debian:bookworm-slim\n", "FROM debian\n", "FROM debian: pin a tag")

    def test_missing_build_package(self):
        self.assertCaught("worker-cpu.Dockerfile", " libhiredis-dev", "", "lacks libhiredis-dev")

    def test_package_bootstrap_does_not_install(self):
        self.assertCaught("coordinator.Dockerfile", " libsqlite3-dev", " libsqlite3-dev libmysqlclient-dev",
                          "installs libmysqlclient-dev, which scripts/bootstrap does not")

    def test_other_build_type(self):
        self.assertCaught("worker-cuda.Dockerfile", "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCMAKE_BUILD_TYPE=Debug",
                          "as scripts/build does")

    def test_binary_not_built(self):
        self.assertCaught("worker-cuda.Dockerfile", "-j \"$JOBS\" sic-worker sic", "-j \"$JOBS\" sic",
                          "does not build sic-worker")

    def test_binary_not_installed(self):
        self.assertCaught("coordinator.Dockerfile", "COPY --from=build /out/sic-coordinator /out/sicctl /usr/local/bin/",
                          "COPY --from=build /out/sicctl /usr/local/bin/", "does not install sic-coordinator")

    def test_copy_from_unknown_stage(self):
        self.assertCaught("coordinator.Dockerfile", "COPY --from=web ", "COPY --from=webapp ", "no such earlier stage")

    def test_unknown_instruction(self):
        self.assertCaught("worker-cuda.Dockerfile", "\nWORKDIR /src\n", "\nWORKDIRR /src\n",
                          "WORKDIRR: not a Dockerfile instruction")

    def test_broken_continuation(self):
        # A lost backslash: the next line of the RUN becomes an instruction of its own.
        self.assertCaught("worker-cuda.Dockerfile", " && unzip -q /tmp/libtorch.zip -d /opt \\\n",
                          " && unzip -q /tmp/libtorch.zip -d /opt\n", "&&: not a Dockerfile instruction")

    def test_entrypoint_not_json(self):
        self.assertCaught("worker-cuda.Dockerfile", 'ENTRYPOINT ["/usr/local/bin/sic-worker"]',
                          'ENTRYPOINT ["/usr/local/bin/sic-worker"', "not a JSON array")

    def test_single_stage(self):
        text = "FROM debian:bookworm-slim\nRUN true\nUSER 10001\n"
        self.assertTrue(any("one stage" in e for e in self.check("coordinator.Dockerfile", text)))


class RuntimePackages(unittest.TestCase):
    """deploy/runtime-packages.sh, which the Dockerfiles' runtime stages trust,
    on the binaries this build made."""

    def packages(self, *binaries):
        script = os.path.join(SOURCE, "deploy", "runtime-packages.sh")
        return subprocess.run([script, *binaries], capture_output=True, text=True, timeout=120)

    def test_coordinator(self):
        r = self.packages(COORDINATOR)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = r.stdout.split()
        for prefix in ("libgrpc++", "libprotobuf", "libhiredis", "libsqlite3", "libc6"):
            self.assertTrue(any(n.startswith(prefix) for n in names), (prefix, names))
        # Runtime libraries only: a -dev package would mean a link to a static path.
        self.assertFalse([n for n in names if n.endswith("-dev")], names)
        self.assertEqual(names, sorted(set(names)))
        installed = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *names],
                                   capture_output=True, text=True).stdout
        self.assertEqual(installed.count("install ok installed"), len(names), installed)

    def test_worker_gets_libtorch_and_openblas(self):
        r = self.packages(WORKER)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = r.stdout.split()
        self.assertTrue(any(n.startswith("libtorch") for n in names), names)
        # The libblas.so.3 alternative the worker resolves to is OpenBLAS, as bootstrap sets it up.
        self.assertIn("libopenblas0-pthread", names)

    def test_names_libraries_no_package_owns(self):
        # What the CUDA image meets with LibTorch under /opt: listed on stderr, not as a package.
        ldd = subprocess.run(["ldd", COORDINATOR], capture_output=True, text=True).stdout
        name, path = [(l.split()[0], l.split()[2]) for l in ldd.splitlines() if "libhiredis" in l][0]
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["cp", path, d], check=True)
            script = os.path.join(SOURCE, "deploy", "runtime-packages.sh")
            r = subprocess.run([script, COORDINATOR], capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, LD_LIBRARY_PATH=d))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("not from a package: %s/%s" % (d, name), r.stderr)
        self.assertNotIn("libhiredis", r.stdout)

    def test_refuses_what_is_not_a_binary(self):
        with tempfile.NamedTemporaryFile() as f:
            r = self.packages(f.name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not an executable", r.stderr)
        self.assertEqual(self.packages().returncode, 2)


class HelpParsing(unittest.TestCase):
    def test_cli11_forms(self):
        options = cd.parse_help(
            "Options:\n"
            "  -h,--help                   Print this help message and exit\n"
            "  --format TEXT:{table,json,csv}=table\n"
            "                              output format\n"
            "  --http-threads INT:INT in [1 - 64]=4\n"
            "  --worker-timeout-s FLOAT=30 workers silent this long are no longer listed\n"
            "  --token TEXT (Env:SIC_TOKEN)\n"
            "  --one-shot                  run one trial, then exit\n"
            "  --a-long-flag-name-here     GPU trials only\n")
        self.assertEqual(options["--format"], {"value": True, "default": "table", "env": None})
        self.assertEqual(options["--http-threads"]["default"], "4")
        self.assertEqual(options["--worker-timeout-s"]["default"], "30")
        self.assertEqual(options["--token"], {"value": True, "default": None, "env": "SIC_TOKEN"})
        self.assertFalse(options["--one-shot"]["value"])
        self.assertFalse(options["--help"]["value"])
        self.assertFalse(options["--a-long-flag-name-here"]["value"])

    def test_real_binaries(self):
        self.assertTrue(CTX.helps["sic-coordinator"]["--listen"]["value"])
        self.assertEqual(CTX.helps["sic-worker"]["--redis-password"]["env"], "SIC_REDIS_PASSWORD")
        self.assertFalse(CTX.helps["sic-worker"]["--one-shot"]["value"])


if __name__ == "__main__":
    SOURCE, COORDINATOR, WORKER = sys.argv[1:4]
    del sys.argv[1:4]
    CTX = cd.Context(SOURCE, {"sic-coordinator": cd.binary_help(COORDINATOR), "sic-worker": cd.binary_help(WORKER)})
    RENDERS = {o: cd.render(SOURCE, o) for o in cd.OVERLAYS}
    unittest.main()
