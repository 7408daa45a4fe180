#!/usr/bin/python3
"""Offline checks of the Kubernetes manifests in deploy/k8s (no cluster, no
kubeconform: Debian has neither). Needs python3-yaml.

    python3 deploy/k8s/check.py [DIR]

Every YAML document must parse and have apiVersion, kind and metadata.name;
namespaced objects live in the namespace of namespace.yaml. Then what holds
the set together: selectors match their pods' labels; Services' target
ports are ports the pods name; the HPA's target exists and requests CPU;
envFrom names a ConfigMap or Secret that is defined (the Secret in
secret.template.yaml); kustomization.yaml lists files that exist; probes are
where the brief wants them (app: exec brainstorm-probe; web: HTTP; engine:
no FastCGI); every pod runs as non-root without privilege escalation. The
live path: the engine Deployment runs brainstorm-fcgi --engine-only with
the workers' ConfigMap and Secret and no port; NCHAN_URL names a Service
port that reaches the web pods' nchan port; more than one web pod share
channels through a Redis Service (NCHAN_REDIS_URL); NetworkPolicies let
only the app and engine pods reach nchan's port and nothing reach the
engines. Prints one line per file and exits 1 on any problem.
"""
import re
import os
import sys

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                  "PersistentVolume", "StorageClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def pod_labels(obj):
    return obj["spec"]["template"].get("metadata", {}).get("labels", {}) or {}


def pods_named(workloads, name):
    return [w for _, w in workloads if pod_labels(w).get("app.kubernetes.io/name") == name]


def container_ports(w):
    return [p for c in pod_spec(w)["containers"] for p in c.get("ports", [])]


def selects(rule_from, names):
    """Every source of an ingress rule is a pod selector of one of NAMES."""
    return bool(rule_from) and all(
        (s.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name") in names
        and set((s.get("podSelector") or {}).get("matchLabels", {})) == {"app.kubernetes.io/name"}
        and "namespaceSelector" not in s and "ipBlock" not in s
        for s in rule_from)


def policies_for(by_kind, name):
    out = []
    for pname, (f, pol) in by_kind.get("NetworkPolicy", {}).items():
        spec = pol.get("spec") or {}
        sel = (spec.get("podSelector") or {}).get("matchLabels") or {}
        if sel == {"app.kubernetes.io/name": name} and "Ingress" in spec.get("policyTypes", []):
            out.append((f"{f}: NetworkPolicy/{pname}", spec))
    return out


def check_live_path(by_kind, workloads):
    """Engines, NCHAN_URL, nchan's port and who may reach it."""
    where = "live path"
    app = pods_named(workloads, "brainstorm-app")
    engine = pods_named(workloads, "brainstorm-engine")
    web = pods_named(workloads, "brainstorm-web")
    if not (app and engine and web):
        problem(where, "needs the app, engine and web Deployments")
        return
    a, e = pod_spec(app[0])["containers"][0], pod_spec(engine[0])["containers"][0]
    argv = (e.get("command") or []) + (e.get("args") or [])
    if "--engine-only" not in argv or not any(x.endswith("brainstorm-fcgi") for x in argv):
        problem(where, f"the engine does not run brainstorm-fcgi --engine-only: {argv}")
    if e.get("command"):
        problem(where, "the engine's command replaces the image's entry point (use args)")
    if container_ports(engine[0]):
        problem(where, "the engine's pods declare ports: it listens on nothing")
    if e.get("envFrom") != a.get("envFrom"):
        problem(where, "the engine's envFrom differs from the workers' (same configuration)")
    if e.get("image", "").split(":")[0] != a.get("image", "").split(":")[0]:
        problem(where, "the engine runs another image than the workers")

    cm = {}
    for _, (f, c) in by_kind.get("ConfigMap", {}).items():
        cm.update(c.get("data") or {})
    url = cm.get("NCHAN_URL", "")
    m = re.fullmatch(r"http://([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:([0-9]+)", url)
    if not m:
        problem(where, f"ConfigMap NCHAN_URL {url!r} is not http://SERVICE:PORT")
        return
    svc_name, port = m.group(1), int(m.group(2))
    svc = by_kind.get("Service", {}).get(svc_name)
    if not svc:
        problem(where, f"NCHAN_URL names Service {svc_name}, which is not defined")
        return
    sp = [p for p in svc[1]["spec"].get("ports", []) if p.get("port") == port]
    sel = svc[1]["spec"].get("selector") or {}
    if not sp or sel.get("app.kubernetes.io/name") != "brainstorm-web":
        problem(where, f"Service {svc_name} has no port {port} to the web pods")
        return
    tp = sp[0].get("targetPort", port)
    nchan = [p for p in container_ports(web[0]) if tp in (p.get("name"), p.get("containerPort"))]
    if not nchan:
        problem(where, f"Service {svc_name} port {port}: targetPort {tp} is not a web port")
        return
    nchan_port = nchan[0]["containerPort"]
    wc = pod_spec(web[0])["containers"][0]
    wenv = {v["name"]: v.get("value") for v in wc.get("env", [])}
    if wenv.get("NCHAN_PORT", "9146") != str(nchan_port):
        problem(where, f"web's NCHAN_PORT {wenv.get('NCHAN_PORT')} is not its nchan port {nchan_port}")
    # More than one nginx: a publish reaches one pod; every pod must see it.
    if web[0]["spec"].get("replicas", 1) > 1:
        r = re.fullmatch(r"redis://(?:[^@/]*@)?([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:([0-9]+)(?:/[0-9]+)?",
                         wenv.get("NCHAN_REDIS_URL") or "")
        if not r:
            problem(where, "more than one web pod without NCHAN_REDIS_URL: a publish "
                    "would reach the streams of one pod only")
        elif r.group(1) not in by_kind.get("Service", {}):
            problem(where, f"NCHAN_REDIS_URL names Service {r.group(1)}, which is not defined")

    # nchan's port: only the workers and the engines.
    guarded = False
    for pw, spec in policies_for(by_kind, "brainstorm-web"):
        bad = [rule for rule in spec.get("ingress") or []
               if (not rule.get("ports") or nchan_port in {p.get("port") for p in rule["ports"]}
                   or tp in {p.get("port") for p in rule["ports"]})
               and not selects(rule.get("from"), {"brainstorm-app", "brainstorm-engine"})]
        if bad:
            problem(pw, f"nchan's port {nchan_port} is open beyond the app and engine pods: {bad}")
        else:
            guarded = True
    if not guarded:
        problem(where, f"no NetworkPolicy limits the web pods' nchan port {nchan_port}")
    # The engines: nothing reaches them.
    if not any(not spec.get("ingress") for _, spec in policies_for(by_kind, "brainstorm-engine")):
        problem(where, "no NetworkPolicy denies all ingress to the engine pods")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    files = sorted(f for f in os.listdir(root) if f.endswith((".yaml", ".yml")))
    objs = []      # (file, obj)
    kustomization = None
    for f in files:
        path = os.path.join(root, f)
        try:
            with open(path) as fh:
                docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        except yaml.YAMLError as e:
            problem(f, f"does not parse: {e}")
            continue
        if f == "kustomization.yaml":
            kustomization = docs[0] if docs else {}
            print(f"ok {f}: kustomization")
            continue
        for d in docs:
            where = f"{f}: {d.get('kind', '?')}/{(d.get('metadata') or {}).get('name', '?')}"
            for key in ("apiVersion", "kind", "metadata"):
                if key not in d:
                    problem(where, f"no {key}")
            if not (d.get("metadata") or {}).get("name"):
                problem(where, "no metadata.name")
            objs.append((f, d))
        print(f"ok {f}: " + ", ".join(f"{d.get('kind')}/{d['metadata'].get('name')}"
                                       for d in docs if d.get("metadata")))

    namespaces = {d["metadata"]["name"] for _, d in objs if d.get("kind") == "Namespace"}
    if len(namespaces) != 1:
        problem("namespace.yaml", f"want one Namespace, found {sorted(namespaces)}")
    ns = next(iter(namespaces), None)
    by_kind = {}
    for f, d in objs:
        by_kind.setdefault(d.get("kind"), {})[d["metadata"].get("name")] = (f, d)
        if d.get("kind") not in CLUSTER_SCOPED and d["metadata"].get("namespace") != ns:
            problem(f"{f}: {d['kind']}/{d['metadata'].get('name')}",
                    f"namespace {d['metadata'].get('namespace')!r}, want {ns!r}")

    configmaps = set(by_kind.get("ConfigMap", {}))
    secrets = set(by_kind.get("Secret", {}))
    workloads = [(f, d) for f, d in objs if d.get("kind") in WORKLOADS]

    for f, d in workloads:
        where = f"{f}: {d['kind']}/{d['metadata']['name']}"
        try:
            spec = pod_spec(d)
        except (KeyError, TypeError):
            problem(where, "no spec.template.spec")
            continue
        labels = pod_labels(d)
        if d["kind"] != "Job":
            sel = (d["spec"].get("selector") or {}).get("matchLabels") or {}
            if not sel:
                problem(where, "no spec.selector.matchLabels")
            for k, v in sel.items():
                if labels.get(k) != v:
                    problem(where, f"selector {k}={v} does not match the pod labels")
        else:
            if spec.get("restartPolicy") not in ("Never", "OnFailure"):
                problem(where, "a Job's restartPolicy must be Never or OnFailure")
        psc = spec.get("securityContext") or {}
        if not psc.get("runAsNonRoot"):
            problem(where, "pod securityContext.runAsNonRoot is not true")
        if not spec.get("containers"):
            problem(where, "no containers")
        for c in spec.get("containers", []):
            cw = f"{where} container {c.get('name')}"
            if not c.get("name") or not c.get("image"):
                problem(cw, "needs name and image")
            csc = c.get("securityContext") or {}
            if csc.get("allowPrivilegeEscalation") is not False:
                problem(cw, "allowPrivilegeEscalation must be false")
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef and ef["configMapRef"]["name"] not in configmaps:
                    problem(cw, f"envFrom ConfigMap {ef['configMapRef']['name']} is not defined")
                if "secretRef" in ef and ef["secretRef"]["name"] not in secrets:
                    problem(cw, f"envFrom Secret {ef['secretRef']['name']} is not defined")
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"] for v in spec.get("volumes", [])}
            for m in mounts - vols:
                problem(cw, f"volumeMount {m} has no volume")
            if d["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        problem(cw, f"no {probe}")
                if d["metadata"]["name"] == "brainstorm-app" and c.get("name") == "app":
                    r = c.get("readinessProbe", {}).get("exec", {}).get("command", [])
                    lv = c.get("livenessProbe", {}).get("exec", {}).get("command", [])
                    if not (r and r[0].endswith("brainstorm-probe") and "ready" in r):
                        problem(cw, "readiness must exec brainstorm-probe ready")
                    if not (lv and lv[0].endswith("brainstorm-probe") and "health" in lv):
                        problem(cw, "liveness must exec brainstorm-probe health")
                    if not c.get("resources", {}).get("requests", {}).get("cpu"):
                        problem(cw, "no CPU request (the HPA needs one)")
                if d["metadata"]["name"] == "brainstorm-web":
                    for probe in ("readinessProbe", "livenessProbe"):
                        if "httpGet" not in c.get(probe, {}):
                            problem(cw, f"{probe} must be an HTTP probe")
                if d["metadata"]["name"] == "brainstorm-engine":
                    for probe in ("readinessProbe", "livenessProbe"):
                        cmd = " ".join(c.get(probe, {}).get("exec", {}).get("command", []))
                        if "brainstorm-probe" in cmd or "httpGet" in c.get(probe, {}):
                            problem(cw, f"{probe}: an engine has no FastCGI or HTTP port to ask")

    # Services select pods of some workload, on ports those pods declare.
    for name, (f, svc) in by_kind.get("Service", {}).items():
        where = f"{f}: Service/{name}"
        sel = (svc.get("spec") or {}).get("selector") or {}
        targets = [(wf, w) for wf, w in workloads
                   if sel and all(pod_labels(w).get(k) == v for k, v in sel.items())]
        if not targets:
            problem(where, f"selector {sel} matches no workload's pods")
            continue
        port_names = {p.get("name") for _, w in targets
                      for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        port_numbers = {p.get("containerPort") for _, w in targets
                        for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        for p in svc["spec"].get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            if isinstance(tp, str) and tp not in port_names:
                problem(where, f"targetPort {tp} is not a port of its pods")
            if isinstance(tp, int) and tp not in port_numbers:
                problem(where, f"targetPort {tp} is not a port of its pods")

    for name, (f, hpa) in by_kind.get("HorizontalPodAutoscaler", {}).items():
        where = f"{f}: HorizontalPodAutoscaler/{name}"
        ref = hpa["spec"]["scaleTargetRef"]
        target = by_kind.get(ref.get("kind"), {}).get(ref.get("name"))
        if not target:
            problem(where, f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not defined")
        if not any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", [])):
            problem(where, "no CPU metric")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"].get("maxReplicas", 0):
            problem(where, "minReplicas > maxReplicas")

    for name, (f, pdb) in by_kind.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"]["selector"]["matchLabels"]
        if not any(all(pod_labels(w).get(k) == v for k, v in sel.items()) for _, w in workloads):
            problem(f"{f}: PodDisruptionBudget/{name}", "selects no pods")

    # The workers' FastCGI port: only web's pods may reach it (a worker
    # trusts REMOTE_ADDR from whoever talks FastCGI to it).
    app_pods = [w for _, w in workloads
                if pod_labels(w).get("app.kubernetes.io/name") == "brainstorm-app"]
    fcgi_ports = {p.get("containerPort") for w in app_pods
                  for c in pod_spec(w)["containers"] for p in c.get("ports", [])
                  if p.get("name") == "fastcgi"}
    guarded = False
    for name, (f, pol) in by_kind.get("NetworkPolicy", {}).items():
        spec = pol.get("spec") or {}
        sel = (spec.get("podSelector") or {}).get("matchLabels") or {}
        if not app_pods or not all(pod_labels(app_pods[0]).get(k) == v
                                   for k, v in sel.items()) or not sel:
            continue
        if "Ingress" not in spec.get("policyTypes", []):
            continue
        open_to = []
        for rule in spec.get("ingress") or []:
            ports = {p.get("port") for p in rule.get("ports") or []}
            if ports and not ports & fcgi_ports:
                continue
            sources = rule.get("from") or []
            web_only = sources and all(
                (s.get("podSelector") or {}).get("matchLabels", {}).get(
                    "app.kubernetes.io/name") == "brainstorm-web"
                and "namespaceSelector" not in s and "ipBlock" not in s
                for s in sources)
            if not web_only:
                open_to.append(rule)
        if open_to:
            problem(f"{f}: NetworkPolicy/{name}",
                    f"the FastCGI port is open beyond web's pods: {open_to}")
        else:
            guarded = True
    if not guarded:
        problem(root, "no NetworkPolicy limits the app pods' FastCGI port "
                f"{sorted(fcgi_ports)} to web's pods")

    check_live_path(by_kind, workloads)

    if kustomization is None:
        problem("kustomization.yaml", "missing")
    else:
        for r in kustomization.get("resources", []):
            if not os.path.exists(os.path.join(root, r)):
                problem("kustomization.yaml", f"resource {r} does not exist")
        if "secret.template.yaml" in kustomization.get("resources", []):
            problem("kustomization.yaml", "must not apply the Secret template")

    for want in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service",
                 "Job", "HorizontalPodAutoscaler"):
        if want not in by_kind:
            problem(root, f"no {want}")
    for want in ("brainstorm-app", "brainstorm-web", "brainstorm-engine"):
        if want not in by_kind.get("Deployment", {}):
            problem(root, f"no Deployment {want}")

    for p in problems:
        print(f"not ok {p}")
    print(f"deploy/k8s: {len(objs)} objects in {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
