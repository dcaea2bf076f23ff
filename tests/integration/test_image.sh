#!/usr/bin/env bash
# The container image and the chart's pod, built and run for real (issue 20).
#
# `tests/image-tool.sh build` (what `make image` runs) builds the Dockerfile
# with podman or docker, making the base image from the Debian archive where no
# registry is reachable. The chart is rendered (`helm template`) and installed
# (`helm install`) into the envtest control plane with the values a user would
# set; the ReplicaSet creates the controller's Pods, which stay Pending (no
# kubelet). The test then plays the kubelet for each Pod, from the Pod object
# the API server holds: it runs the Pod's image with the Pod's args, env
# (fieldRefs resolved), securityContext (user/group, fsGroup, read-only root,
# capabilities, no-new-privileges), memory limit and volume mounts — the
# emptyDir, and the projected kube-api-access volume the ServiceAccount
# admission added: a token from the TokenRequest API bound to the Pod, the
# cluster CA from the kube-root-ca.crt ConfigMap, the namespace — with
# KUBERNETES_SERVICE_HOST/PORT set, the hostname set to the Pod's name, and
# runs the Pod's liveness and readiness probes against it on its container
# port, marking the Pod Ready in the API as a kubelet does. Each Pod has a
# network namespace of its own (two replicas both listen on the rendered
# port): podman's slirp4netns, where the API server on the host's loopback is
# 10.0.2.2 and is reached as kubernetes.default.svc (a name its certificate
# carries). So the controller runs in in-cluster mode under the chart's own
# RBAC, as on a cluster.
#
#   1. one replica, cluster-wide (ClusterRole): the sample pipeline Ready, its
#      status and Events written, probes pass, the Deployment rolls out,
#      SIGTERM stops it (exit 0) within the Pod's terminationGracePeriodSeconds
#   2. two replicas and watchNamespace set (Role in the watched namespace, the
#      leader-election Role in the release's): one holds the Lease and acts;
#      SIGKILL it and the other takes the Lease over and acts
#   and no request by the chart's ServiceAccount is Forbidden (the audit log).
#
# Skipped (exit 77) only where neither podman nor docker can run; in CI
# (CI=true) that is a failure.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/envtest.sh"
t_start=$(date +%s)
containers=()
on_failure() {
    local c
    for c in "${containers[@]:-}"; do
        [ -n "$c" ] || continue
        echo "--- $c (tail):" >&2
        "${E[@]}" logs "$c" 2>&1 | tail -n 15 >&2 || true
    done
}
trap 'rc=$?; [ $rc = 0 ] || [ $rc = 77 ] || on_failure; cleanup' EXIT

# -- the engine: podman or docker, whichever runs ---------------------------
rc=0
eng=$("$SH_ROOT/tests/image-tool.sh" engine 2>"$TMP/engine.err") || rc=$?
if [ $rc -ne 0 ]; then
    [ "${CI:-}" = true ] && fail "no container engine in CI: $(cat "$TMP/engine.err")"
    echo "SKIP: neither podman nor docker can run here: $(cat "$TMP/engine.err")"
    exit 77
fi
read -ra E <<<"$eng"
read -ra RUNF <<<"$("$SH_ROOT/tests/image-tool.sh" run-flags)"
if [ "${E[0]}" != podman ] || ! command -v slirp4netns >/dev/null 2>&1; then
    # docker's and podman's host network would make the two replicas' ports clash
    [ "${CI:-}" = true ] && fail "the pod runs need podman with slirp4netns (tests/deps.sh test installs them)"
    echo "SKIP: the pod runs need podman with slirp4netns (a network namespace per pod); engine: ${E[0]}"
    exit 77
fi
command -v kubectl >/dev/null || fail "kubectl is not installed"
HELM=$("$SH_ROOT/tests/helm-tool.sh" helm) || fail "no helm"

# -- the image, built as `make image` builds it ------------------------------
# under a tag of this run's own (runs in other checkouts may build at the same
# time); the chart runs it through image.tag, as a user would set it
DEFAULT_IMAGE=$("$SH_ROOT/tests/image-tool.sh" name)
tag=test-$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
export IMAGE=${DEFAULT_IMAGE%:*}:$tag
remove_containers() { # then this run's tag
    local c
    for c in "${containers[@]:-}"; do [ -n "$c" ] && "${E[@]}" rm -f -t 0 "$c" >/dev/null 2>&1; done
    "${E[@]}" rmi "$IMAGE" >/dev/null 2>&1
    return 0
}
on_exit remove_containers
t0=$(date +%s)
"$SH_ROOT/tests/image-tool.sh" build >"$TMP/build.out" 2>"$TMP/build.log" ||
    fail "image build: $(tail -20 "$TMP/build.log")"
build_s=$(($(date +%s) - t0))
echo "$(cat "$TMP/build.out") (this run: ${build_s} s)"
cfg=$("${E[@]}" image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "$IMAGE")
assert_eq "$cfg" '65532:65532 ["/usr/local/bin/selfheal"]' "image user and entrypoint"
assert_contains "$("${E[@]}" run --rm "${RUNF[@]}" --network none --read-only "$IMAGE" version)" "selfheal "
# nothing but the binary, its libraries and the few files it reads
files=$("${E[@]}" image save "$IMAGE" 2>/dev/null | tar -xO --wildcards '*.tar' 2>/dev/null | tar -ti 2>/dev/null |
    grep -vE '/$|^(usr/)?lib(64)?/|^usr/share/doc/[^/]+/copyright$' | sort | tr '\n' ' ') || true
assert_eq "$files" "etc/group etc/nsswitch.conf etc/passwd etc/ssl/certs/ca-certificates.crt usr/local/bin/selfheal " \
    "files in the image besides libraries"

# -- the cluster ---------------------------------------------------------------
# (these run before lib/envtest.sh deletes the namespaces)
releases=()
uninstall_all() {
    local r
    for r in "${releases[@]:-}"; do
        [ -n "$r" ] && "$HELM" uninstall "${r#*/}" -n "${r%%/*}" --wait=false >/dev/null 2>&1
    done
    return 0
}
on_exit uninstall_all
envtest_up
export KUBECONFIG=$ENVTEST_KUBECONFIG
api_port=${ENVTEST_URL##*:}

# the sample pipeline's service: /health answers 200 on the host's loopback
mkdir -p "$TMP/www"
echo ok >"$TMP/www/health"
health_port=$(free_port)
(cd "$TMP/www" && exec /usr/bin/python3 -m http.server "$health_port" --bind 127.0.0.1) >/dev/null 2>&1 &
track $!
wait_for 10 "the sample service" curl -fsS "http://127.0.0.1:$health_port/health"


# install NS RELEASE VALUES: helm template, then helm install, with VALUES
"$HELM" template selfheal "$SH_ROOT/helm/selfheal" >"$TMP/default.yaml" 2>&1 || fail "helm template: $(cat "$TMP/default.yaml")"
grep -q "image: \"$DEFAULT_IMAGE\"" "$TMP/default.yaml" || fail "the chart does not run $DEFAULT_IMAGE by default"
install() {
    "$HELM" template "$2" "$SH_ROOT/helm/selfheal" -n "$1" -f "$3" >"$TMP/$2.rendered.yaml" 2>"$TMP/helm.err" ||
        fail "helm template: $(cat "$TMP/helm.err")"
    grep -q "image: \"$IMAGE\"" "$TMP/$2.rendered.yaml" || fail "the chart does not run $IMAGE: $(grep image: "$TMP/$2.rendered.yaml")"
    grep -q 'terminationGracePeriodSeconds: ' "$TMP/$2.rendered.yaml" || fail "the pod has no terminationGracePeriodSeconds"
    "$HELM" install "$2" "$SH_ROOT/helm/selfheal" -n "$1" -f "$3" >"$TMP/helm.out" 2>&1 ||
        fail "helm install: $(cat "$TMP/helm.out")"
    releases+=("$1/$2")
}

# pods NS RELEASE N: the names of the release's N Pods (Pending: no kubelet)
pods() {
    local sel="app.kubernetes.io/instance=$2" out
    have() { [ "$(kubectl get pods -n "$1" -l "$sel" -o name | wc -l)" -ge "$3" ]; }
    wait_for 30 "$3 Pods of $2 from the ReplicaSet" have "$@"
    kubectl get pods -n "$1" -l "$sel" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | head -n "$3"
}

# kubelet NS POD: starts the Pod's container as a kubelet would (see the top);
# the container is named k8s_POD; its probes run in the background
kubelet() {
    local ns=$1 pod=$2 dir=$TMP/kubelet/$2 name=k8s_$2
    mkdir -p "$dir"
    kubectl get pod "$pod" -n "$ns" -o json >"$dir/pod.json"
    /usr/bin/python3 - "$dir" "$api_port" "$IMAGE" "${RUNF[@]}" >"$dir/args" 2>"$dir/kubelet.err" <<'PY' ||
import json, os, subprocess, sys, time
d, api_port, image, runflags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
pod = json.load(open(os.path.join(d, "pod.json")))
meta, spec = pod["metadata"], pod["spec"]
ns, name = meta["namespace"], meta["name"]
def die(msg): sys.exit(f"kubelet: pod {ns}/{name}: {msg}")
if spec.get("initContainers") or len(spec["containers"]) != 1: die("one container expected")
c = spec["containers"][0]
if c["image"] != image: die(f"image {c['image']}, built {image}")
psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
sc = {**psc, **csc}
uid, gid, fsgroup = sc.get("runAsUser"), sc.get("runAsGroup"), psc.get("fsGroup")
if uid is None: die("no runAsUser (the test does not read the image's user)")
if sc.get("runAsNonRoot") and uid == 0: die("runAsNonRoot with runAsUser 0: the kubelet refuses it")
args = ["run", "-d", "--name", "k8s_" + name, "--hostname", name, *runflags,
        "--network", "slirp4netns:allow_host_loopback=true",
        "--add-host", "kubernetes.default.svc:10.0.2.2",
        "--user", f"{uid}:{gid if gid is not None else 0}",
        "--stop-timeout", str(spec.get("terminationGracePeriodSeconds", 30))]
groups = ([fsgroup] if fsgroup is not None else []) + psc.get("supplementalGroups", [])
for g in groups: args += ["--group-add", str(g)]
if sc.get("readOnlyRootFilesystem"): args += ["--read-only", "--read-only-tmpfs=false"]
caps = sc.get("capabilities", {})
for cap in caps.get("drop", []): args += ["--cap-drop", cap]
for cap in caps.get("add", []): args += ["--cap-add", cap]
if sc.get("allowPrivilegeEscalation") is False: args += ["--security-opt", "no-new-privileges"]
if sc.get("privileged"): die("privileged")
mem = c.get("resources", {}).get("limits", {}).get("memory")
if mem:
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
    u = next((u for u in sorted(units, key=len, reverse=True) if mem.endswith(u)), None)
    args += ["--memory", str(int(mem[:-len(u)]) * units[u] if u else int(mem))]
for p in c.get("ports", []):
    args += ["-p", f"127.0.0.1::{p['containerPort']}/{p.get('protocol', 'TCP').lower()}"]
# env: the service variables a kubelet adds, then the container's own
env = {"KUBERNETES_SERVICE_HOST": "kubernetes.default.svc", "KUBERNETES_SERVICE_PORT": api_port}
fields = {"metadata.name": name, "metadata.namespace": ns, "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
          "spec.nodeName": "envtest-node", "status.podIP": "10.0.2.100"}
for e in c.get("env", []):
    if "value" in e: env[e["name"]] = e["value"]
    elif "fieldRef" in e.get("valueFrom", {}):
        fp = e["valueFrom"]["fieldRef"]["fieldPath"]
        if fp not in fields: die(f"env {e['name']}: fieldRef {fp} not supported by the test")
        env[e["name"]] = fields[fp]
    else: die(f"env {e['name']}: only value and fieldRef are supported by the test")
for k, v in env.items(): args += ["-e", f"{k}={v}"]
# volumes
def kubectl(*a):
    return subprocess.run(["kubectl", *a], check=True, capture_output=True, text=True).stdout
vols = {v["name"]: v for v in spec.get("volumes", [])}
for m in c.get("volumeMounts", []):
    v = vols.get(m["name"]) or die(f"no volume {m['name']}")
    if m.get("subPath"): die("subPath is not supported by the test")
    src = os.path.join(d, "volumes", m["name"])
    if not os.path.isdir(src):
        os.makedirs(src)
        if "emptyDir" in v:
            os.chmod(src, 0o777)
            if fsgroup is not None:
                os.chown(src, 0, fsgroup); os.chmod(src, 0o2777)
        elif "projected" in v:
            mode = v["projected"].get("defaultMode", 0o644)
            for s in v["projected"]["sources"]:
                if "serviceAccountToken" in s:
                    t = s["serviceAccountToken"]
                    data = kubectl("create", "token", spec.get("serviceAccountName", "default"), "-n", ns,
                                   "--bound-object-kind", "Pod", "--bound-object-name", name,
                                   "--bound-object-uid", meta["uid"], "--duration", f"{t.get('expirationSeconds', 3607)}s")
                    files = {t["path"]: data.strip()}
                elif "configMap" in s:
                    for _ in range(100):  # kube-controller-manager publishes kube-root-ca.crt per namespace
                        try:
                            cm = json.loads(kubectl("get", "configmap", s["configMap"]["name"], "-n", ns, "-o", "json"))
                            break
                        except subprocess.CalledProcessError:
                            time.sleep(0.1)
                    else: die(f"no ConfigMap {s['configMap']['name']}")
                    files = {i["path"]: cm["data"][i["key"]] for i in s["configMap"]["items"]}
                elif "downwardAPI" in s:
                    files = {}
                    for i in s["downwardAPI"]["items"]:
                        fp = i["fieldRef"]["fieldPath"]
                        files[i["path"]] = fields.get(fp) or die(f"downwardAPI {fp} not supported")
                else: die(f"projected source {list(s)} not supported")
                for p, data in files.items():
                    f = os.path.join(src, p)
                    with open(f, "w") as fh: fh.write(data)
                    os.chmod(f, mode)
                    if fsgroup is not None: os.chown(f, 0, fsgroup)
        else: die(f"volume {m['name']}: only emptyDir and projected are supported by the test")
    args += ["-v", f"{src}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
if c.get("command"): args += ["--entrypoint", json.dumps(c["command"])]
args += [image, *c.get("args", [])]
print("\n".join(args))
# the probes: KIND PORT PATH DELAY PERIOD TIMEOUT FAILURES
ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
with open(os.path.join(d, "probes"), "w") as fh:
    for kind in ("livenessProbe", "readinessProbe"):
        pr = c.get(kind) or die(f"no {kind}")
        g = pr.get("httpGet") or die(f"{kind}: only httpGet is supported by the test")
        port = ports[g["port"]] if isinstance(g["port"], str) else g["port"]
        fh.write(f"{kind} {port} {g['path']} {pr.get('initialDelaySeconds', 0)} {pr.get('periodSeconds', 10)} "
                 f"{pr.get('timeoutSeconds', 1)} {pr.get('failureThreshold', 3)}\n")
PY
        fail "$(cat "$dir/kubelet.err")"
    mapfile -t args <"$dir/args"
    "${E[@]}" "${args[@]}" >"$dir/cid" 2>"$dir/run.err" || fail "${E[0]} run $pod: $(cat "$dir/run.err")"
    containers+=("$name")
    local kind port path delay period timeout failures
    while read -r kind port path delay period timeout failures; do
        prober "$ns" "$pod" "$kind" "$port" "$path" "$delay" "$period" "$timeout" "$failures" &
        track $!
    done <"$dir/probes"
}

# prober NS POD KIND PORT PATH DELAY PERIOD TIMEOUT FAILURES: the kubelet's
# probe loop; $TMP/kubelet/POD/KIND holds the last result (ok or failed),
# KIND.dead is written when FAILURES probes in a row failed (a liveness
# failure restarts the container). A Pod passing its readinessProbe is
# marked Ready in the API, as the kubelet reports it.
prober() {
    local ns=$1 pod=$2 kind=$3 dir=$TMP/kubelet/$2 hp code fails=0 marked=
    sleep "$6"
    while :; do
        hp=$("${E[@]}" port "k8s_$pod" "$4/tcp" 2>/dev/null | head -1)
        code=$(curl -s -o /dev/null -m "$8" -w '%{http_code}' "http://$hp$5" 2>/dev/null) || code=000
        if [ "$code" -ge 200 ] && [ "$code" -lt 400 ]; then
            fails=0
            echo ok >"$dir/$kind"
            if [ "$kind" = readinessProbe ] && [ -z "$marked" ]; then
                pod_ready "$ns" "$pod" && marked=1
            fi
        else
            fails=$((fails + 1))
            echo "failed $code" >"$dir/$kind"
            [ $fails -lt "$9" ] || echo "$(date +%T) $code" >>"$dir/$kind.dead"
        fi
        sleep "$7"
    done
}

pod_ready() { # NS POD: the status a kubelet reports for a running, ready Pod
    local now
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    kapi "/api/v1/namespaces/$1/pods/$2/status" -X PATCH -H 'Content-Type: application/merge-patch+json' -o /dev/null -d "$(
        jq -nc --arg now "$now" --arg img "$IMAGE" '{status: {phase: "Running", podIP: "10.0.2.100", startTime: $now,
            conditions: [{type: "Initialized", status: "True", lastTransitionTime: $now},
                         {type: "Ready", status: "True", lastTransitionTime: $now},
                         {type: "ContainersReady", status: "True", lastTransitionTime: $now},
                         {type: "PodScheduled", status: "True", lastTransitionTime: $now}],
            containerStatuses: [{name: "controller", ready: true, started: true, restartCount: 0, image: $img,
                                 imageID: "", state: {running: {startedAt: $now}}}]}}')"
}

probe_ok() { [ "$(cat "$TMP/kubelet/$1/$2" 2>/dev/null)" = ok ]; }
no_liveness_failure() {
    [ ! -f "$TMP/kubelet/$1/livenessProbe.dead" ] ||
        fail "$1 failed its livenessProbe (a kubelet would restart it): $(cat "$TMP/kubelet/$1/livenessProbe.dead")"
}
# in_pod POD: the container's process as the host sees it (uid, caps)
proc_status() { grep -E "^$2:" "/proc/$("${E[@]}" inspect -f '{{.State.Pid}}' "k8s_$1")/status" | cut -f2- | tr '\t' ' '; }

# sigterm POD GRACE: the kubelet's stop; exit 0 within the grace period
sigterm() {
    local t0 rc
    t0=$(date +%s%N)
    "${E[@]}" kill --signal TERM "k8s_$1" >/dev/null
    rc=$(timeout "$2" "${E[@]}" wait "k8s_$1" 2>/dev/null) || fail "$1 still running $2 s (its grace period) after SIGTERM"
    assert_eq "$rc" 0 "exit status of $1 after SIGTERM"
    echo "  $1: SIGTERM -> exit 0 in $((($(date +%s%N) - t0) / 1000000)) ms (grace period $2 s)"
}

values() { # FILE SAMPLE-NAMESPACE: the values a user sets, plus extra lines on stdin
    {
        echo "image:"
        echo "  tag: $tag"
        echo "samplePipeline:"
        echo "  enabled: true"
        echo "  healthUrl: http://10.0.2.2:$health_port/health"
        echo "  deployment: housing-api"
        cat
    } >"$1"
    kubectl create deployment housing-api --image=registry.example/housing-api:1 -n "$2" >/dev/null
}

# -- 1. one replica, cluster-wide ------------------------------------------------
echo "== one replica, ClusterRole"
envtest_namespace img
ns1=$NS
rel1=selfheal-$(od -An -N3 -tx1 /dev/urandom | tr -d " \n")
values "$TMP/one.yaml" "$ns1" </dev/null
install "$ns1" "$rel1" "$TMP/one.yaml"
grep -q 'kind: ClusterRole$' "$TMP/$rel1.rendered.yaml" || fail "no ClusterRole rendered"
pod1=$(pods "$ns1" "$rel1" 1)
grace=$(kubectl get pod "$pod1" -n "$ns1" -o jsonpath='{.spec.terminationGracePeriodSeconds}')
kubelet "$ns1" "$pod1"
wait_for 30 "$pod1 passes its readinessProbe" probe_ok "$pod1" readinessProbe
wait_for 30 "$pod1 passes its livenessProbe" probe_ok "$pod1" livenessProbe
assert_contains "$("${E[@]}" logs "k8s_$pod1" 2>&1)" "in-cluster config" "the controller's config"
assert_eq "$(proc_status "$pod1" Uid)" "65532 65532 65532 65532" "uids of the controller process"
assert_eq "$(proc_status "$pod1" CapEff)" "0000000000000000" "effective capabilities"
assert_eq "$("${E[@]}" inspect -f '{{.HostConfig.ReadonlyRootfs}}' "k8s_$pod1")" true "read-only root filesystem"
sample=$rel1-sample
kubectl wait --for=condition=Ready "shp/$sample" -n "$ns1" --timeout=30s >/dev/null 2>&1 ||
    fail "the sample pipeline is not Ready: $(kubectl get shp "$sample" -n "$ns1" -o yaml 2>&1 | tail -30)"
assert_eq "$(kubectl get shp "$sample" -n "$ns1" -o jsonpath='{.status.observedGeneration}')" 1 "status.observedGeneration"
events() { kubectl get events -n "$1" --field-selector "involvedObject.name=$2" -o jsonpath='{range .items[*]}{.reason}{" "}{end}'; }
wait_for 15 "an Event about the sample pipeline" test -n "$(events "$ns1" "$sample")"
kubectl rollout status "deployment/$rel1" -n "$ns1" --timeout=30s >/dev/null 2>&1 ||
    fail "the Deployment did not roll out: $(kubectl get deploy "$rel1" -n "$ns1" -o wide 2>&1)"
no_liveness_failure "$pod1"
echo "  $pod1: in-cluster, uid 65532, no capabilities, read-only root; probes ok; $sample Ready; Events: $(events "$ns1" "$sample")"
sigterm "$pod1" "$grace"
assert_contains "$("${E[@]}" logs "k8s_$pod1" 2>&1)" '"stopped"' "the controller's last words"
sa1=system:serviceaccount:$ns1:$rel1

# -- 2. two replicas, watchNamespace (Role) --------------------------------------
echo "== two replicas, leader election, watchNamespace (Role)"
envtest_namespace img-watched
nsw=$NS
envtest_namespace img-ha
ns2=$NS
rel2=selfheal-$(od -An -N3 -tx1 /dev/urandom | tr -d " \n")
values "$TMP/ha.yaml" "$nsw" <<EOF
replicas: 2
watchNamespace: $nsw
EOF
install "$ns2" "$rel2" "$TMP/ha.yaml"
grep -q 'kind: ClusterRole$' "$TMP/$rel2.rendered.yaml" && fail "a ClusterRole with watchNamespace set"
mapfile -t hapods < <(pods "$ns2" "$rel2" 2)
for p in "${hapods[@]}"; do kubelet "$ns2" "$p"; done
holder() { kubectl get lease selfheal-leader -n "$ns2" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
held_by_one() { local h; h=$(holder); [ "${h%%_*}" = "${hapods[0]}" ] || [ "${h%%_*}" = "${hapods[1]}" ]; }
wait_for 30 "a replica holds the Lease" held_by_one
leader=$(holder)
leader=${leader%%_*}
standby=${hapods[0]}
[ "$leader" = "$standby" ] && standby=${hapods[1]}
sample=$rel2-sample
kubectl wait --for=condition=Ready "shp/$sample" -n "$nsw" --timeout=30s >/dev/null 2>&1 ||
    fail "the sample pipeline is not Ready: $(kubectl get shp "$sample" -n "$nsw" -o yaml 2>&1 | tail -30)"
for p in "${hapods[@]}"; do wait_for 30 "$p passes its readinessProbe" probe_ok "$p" readinessProbe; done
grep -q "acquired lease" <("${E[@]}" logs "k8s_$standby" 2>&1) && fail "two leaders"
echo "  leader $leader, standby $standby; $sample Ready"
t0=$(date +%s)
"${E[@]}" kill --signal KILL "k8s_$leader" >/dev/null
took_over() { [ "$(holder | cut -d_ -f1)" = "$standby" ]; }
wait_for 40 "the standby takes the Lease over" took_over
echo "  SIGKILL $leader: $standby holds the Lease after $(($(date +%s) - t0)) s"
kubectl patch shp "$sample" -n "$nsw" --type merge -p '{"spec":{"escalation":{"maxSameIssue":5}}}' >/dev/null
ogen() { [ "$(kubectl get shp "$sample" -n "$nsw" -o jsonpath='{.status.observedGeneration}')" = 2 ]; }
wait_for 20 "the new leader reconciles the change (observedGeneration 2)" ogen
no_liveness_failure "$standby"
grace=$(kubectl get pod "$standby" -n "$ns2" -o jsonpath='{.spec.terminationGracePeriodSeconds}')
sigterm "$standby" "$grace"
[ -z "$(holder)" ] || echo "  (Lease holder after a clean stop: $(holder))"

# -- no Forbidden under the chart's RBAC ------------------------------------------
for sa in "$sa1" "system:serviceaccount:$ns2:$rel2"; do
    forbidden=$(envtest_forbidden "$sa")
    [ -z "$forbidden" ] || fail "Forbidden for $sa under the chart's RBAC: $forbidden"
    [ "$(envtest_writes "$sa")" -gt 0 ] || fail "the audit log shows no writes by $sa"
done
echo "ok (image build ${build_s} s, whole test $(($(date +%s) - t_start)) s)"
