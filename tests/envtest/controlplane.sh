#!/usr/bin/env bash
# tests/envtest/controlplane.sh — a real Kubernetes control plane for the
# tests, in the spirit of controller-runtime's envtest: etcd (Debian's
# etcd-server) + kube-apiserver + kube-controller-manager v1.32 on free
# loopback ports, with fresh certificates, in a folder of its own.
#
#   controlplane.sh start DIR   starts it (returns once /readyz is ok) and writes
#                                DIR/env: ENVTEST_URL, ENVTEST_KUBECONFIG (admin,
#                                system:masters), ENVTEST_CA, ENVTEST_AUDIT (the
#                                API server's audit log, one JSON event a line)
#   controlplane.sh stop DIR    stops it (DIR is left for the logs)
#   controlplane.sh assets      unpacks the binaries (if needed) and prints their folder
#
# The binaries come from $KUBEBUILDER_ASSETS (envtest's convention: a folder
# with kube-apiserver and kube-controller-manager, plain or .xz), by default
# ../shared/envtest beside the checkout; .xz files are checked against their
# SHA256SUMS and unpacked into build/envtest/, never beside the originals.
# Exit 3: the assets are missing (the caller decides whether that is a skip).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ASSETS=${KUBEBUILDER_ASSETS:-$ROOT/../shared/envtest}
BIN=$ROOT/build/envtest

die() { echo "envtest: $*" >&2; exit 1; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

assets() {
    mkdir -p "$BIN"
    local name
    for name in kube-apiserver kube-controller-manager; do
        [ -x "$BIN/$name" ] && [ "$BIN/$name" -nt "$ASSETS/$name.xz" ] 2>/dev/null && continue
        if [ -x "$ASSETS/$name" ]; then
            ln -sf "$ASSETS/$name" "$BIN/$name"
        elif [ -f "$ASSETS/$name.xz" ]; then
            if [ -f "$ASSETS/SHA256SUMS" ]; then
                (cd "$ASSETS" && grep " $name.xz\$" SHA256SUMS | sha256sum -c --quiet -) >/dev/null ||
                    die "$ASSETS/$name.xz does not match its SHA256SUMS"
            fi
            xz -dc "$ASSETS/$name.xz" >"$BIN/$name.tmp"
            chmod 755 "$BIN/$name.tmp"
            mv "$BIN/$name.tmp" "$BIN/$name"
        else
            echo "envtest: no $name in $ASSETS (set KUBEBUILDER_ASSETS to a folder with kube-apiserver and kube-controller-manager, plain or .xz)" >&2
            exit 3
        fi
    done
    command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] ||
        { echo "envtest: etcd is not installed (apt-get install etcd-server; tests/deps.sh test does it)" >&2; exit 3; }
    echo "$BIN"
}

certs() { # DIR
    local d=$1
    (
        cd "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=envtest-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\n' >san.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 2 -extfile san.ext 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=envtest-admin" 2>/dev/null
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 2 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    )
}

wait_ready() { # URL DIR SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        if [ "$(curl -s --cacert "$2/ca.crt" --cert "$2/admin.crt" --key "$2/admin.key" "$1/readyz" 2>/dev/null)" = ok ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

start() {
    local d=$1 bin
    bin=$(assets) || exit $?
    mkdir -p "$d"
    d=$(cd "$d" && pwd)
    certs "$d"
    local eport pport aport cport
    eport=$(free_port)
    pport=$(free_port)
    aport=$(free_port)
    cport=$(free_port)
    local url=https://127.0.0.1:$aport
    cat >"$d/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
YAML
    cat >"$d/admin.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster: {server: "$url", certificate-authority: "$d/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$d/admin.crt", client-key: "$d/admin.key"}
contexts:
- name: envtest
  context: {cluster: envtest, user: admin, namespace: default}
current-context: envtest
YAML
    etcd --name envtest --data-dir "$d/etcd" \
        --listen-client-urls "http://127.0.0.1:$eport" --advertise-client-urls "http://127.0.0.1:$eport" \
        --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
        --initial-cluster "envtest=http://127.0.0.1:$pport" --unsafe-no-fsync \
        >"$d/etcd.log" 2>&1 &
    echo $! >"$d/etcd.pid"
    "$bin/kube-apiserver" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$aport" \
        --etcd-servers="http://127.0.0.1:$eport" --authorization-mode=RBAC --client-ca-file="$d/ca.crt" \
        --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
        --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$d/sa.pub" \
        --service-account-signing-key-file="$d/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
        --audit-policy-file="$d/audit-policy.yaml" --audit-log-path="$d/audit.log" --audit-log-format=json \
        --audit-log-mode=batch --audit-log-batch-max-wait=1s \
        --cert-dir="$d/apiserver-certs" >"$d/kube-apiserver.log" 2>&1 &
    echo $! >"$d/kube-apiserver.pid"
    wait_ready "$url" "$d" 60 || { tail -20 "$d/kube-apiserver.log" >&2; stop "$d"; die "kube-apiserver not ready after 60 s (logs in $d)"; }
    "$bin/kube-controller-manager" --kubeconfig="$d/admin.kubeconfig" \
        --authentication-kubeconfig="$d/admin.kubeconfig" --authorization-kubeconfig="$d/admin.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$cport" --service-account-private-key-file="$d/sa.key" \
        --root-ca-file="$d/ca.crt" --controllers='*' --leader-elect=false \
        --use-service-account-credentials=false --cert-dir="$d/kcm-certs" >"$d/kube-controller-manager.log" 2>&1 &
    echo $! >"$d/kube-controller-manager.pid"
    cat >"$d/env" <<ENV
ENVTEST_DIR=$d
ENVTEST_URL=$url
ENVTEST_KUBECONFIG=$d/admin.kubeconfig
ENVTEST_CA=$d/ca.crt
ENVTEST_ADMIN_CERT=$d/admin.crt
ENVTEST_ADMIN_KEY=$d/admin.key
ENVTEST_AUDIT=$d/audit.log
ENVTEST_ETCD=http://127.0.0.1:$eport
ENV
}

stop() {
    local d=$1 name pid
    for name in kube-controller-manager kube-apiserver etcd; do
        [ -f "$d/$name.pid" ] || continue
        pid=$(cat "$d/$name.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$d/$name.pid"
    done
}

case ${1:-} in
    start) start "${2:?DIR}" ;;
    stop) stop "${2:?DIR}" ;;
    assets) assets ;;
    *) echo "usage: $0 start DIR | stop DIR | assets" >&2; exit 2 ;;
esac
