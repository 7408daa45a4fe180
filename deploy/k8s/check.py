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
where the brief wants them (app: exec brainstorm-probe; web: HTTP); every
pod runs as non-root without privilege escalation. Prints one line per
file and exits 1 on any problem.
"""
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
    for want in ("brainstorm-app", "brainstorm-web"):
        if want not in by_kind.get("Deployment", {}):
            problem(root, f"no Deployment {want}")

    for p in problems:
        print(f"not ok {p}")
    print(f"deploy/k8s: {len(objs)} objects in {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
