# Shared settings of scripts/start-kube, stop-kube and kube-load-image. Sourced after lib/infra.sh.
KUBE_DIR="${MODELPORT_KUBE_DIR:-$MODELPORT_STATE/kube}"
KUBE_API_PORT="${MODELPORT_KUBE_API_PORT:-16443}"
KUBE_ETCD_PORT="${MODELPORT_KUBE_ETCD_PORT:-12379}"          # peer port: +1
KUBE_KUBELET_PORT="${MODELPORT_KUBE_KUBELET_PORT:-16250}"    # healthz port: -2
KUBE_PROXY_PORT="${MODELPORT_KUBE_PROXY_PORT:-16256}"        # kube-proxy's healthz port
KUBE_BRIDGE="${MODELPORT_KUBE_BRIDGE:-mpkube0}"
KUBE_POD_CIDR="${MODELPORT_KUBE_POD_CIDR:-10.233.0.0/24}"
KUBE_CONTAINERD_SOCK="$KUBE_DIR/containerd/containerd.sock"
# The first three the kubelet changes; route_localnet kube-proxy sets (iptables mode); the last
# start-kube sets: with it, connections queued on a draining replica's SO_REUSEPORT socket move to
# another replica instead of being reset (host-network services, docs/deploy.md).
KUBE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.conf.all.route_localnet
              net.ipv4.tcp_migrate_req)
# Start order; stop-kube goes the other way.
KUBE_PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)

kube_ctr() { ctr --address "$KUBE_CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# kube_save_sysctls: remember the kernel settings the kubelet changes machine-wide. Keeps an existing
# record (it holds the values from before an earlier start that did not restore them).
kube_save_sysctls() {
  local s
  [ -s "$KUBE_DIR/sysctls.saved" ] && return 0
  mkdir -p "$KUBE_DIR"
  for s in "${KUBE_SYSCTLS[@]}"; do
    echo "$s=$(cat "/proc/sys/${s//.//}")"
  done > "$KUBE_DIR/sysctls.saved.tmp"
  mv "$KUBE_DIR/sysctls.saved.tmp" "$KUBE_DIR/sysctls.saved"
}

# kube_restore_sysctls: put them back (no-op without a record), then forget the record.
kube_restore_sysctls() {
  local line name value
  [ -s "$KUBE_DIR/sysctls.saved" ] || return 0
  while IFS= read -r line; do
    name="${line%%=*}"; value="${line#*=}"
    echo "$value" > "/proc/sys/${name//.//}" || echo "could not restore $name=$value" >&2
  done < "$KUBE_DIR/sysctls.saved"
  rm -f "$KUBE_DIR/sysctls.saved"
}

# PIDs of the containerd shims serving OUR containerd (found by their -address argument, which is
# this state dir's socket: never by process name).
kube_shim_pids() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $KUBE_CONTAINERD_SOCK " && echo "${p#/proc/}"
  done
  return 0
}

# kube_drop_portmap_chains: the CNI portmap plugin leaves its top-level nat chains (and the jumps to
# them) behind even after the last pod's DEL. Remove them when no pod rule is left in them.
kube_drop_portmap_chains() {
  command -v iptables >/dev/null || return 0
  iptables -w -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1 || return 0
  # Rules of OUR network ("modelport-kube") whose CNI DEL never ran (a crash, a killed kubelet).
  local rule chain
  iptables -w -t nat -S CNI-HOSTPORT-DNAT | grep -F 'dnat name: \"modelport-kube\"' | while IFS= read -r rule; do
    chain=$(grep -oE -- '-j CNI-DN-[0-9a-f]+' <<<"$rule" | cut -c4-)
    eval "iptables -w -t nat ${rule/#-A /-D }" 2>/dev/null || true
    [ -n "$chain" ] && { iptables -w -t nat -F "$chain"; iptables -w -t nat -X "$chain"; } 2>/dev/null || true
  done || true
  # Chains of ours no rule jumps to any more (their rule was deleted, the chain not).
  for chain in $(iptables -w -t nat -S | awk '$1 == "-N" && $2 ~ /^CNI-DN-/ { print $2 }'); do
    iptables -w -t nat -S | grep -E -- "-j $chain( |$)" >/dev/null && continue  # no -q: pipefail
    iptables -w -t nat -S "$chain" | grep -qF -- "$KUBE_POD_CIDR" || [ "$(iptables -w -t nat -S "$chain" | grep -c '^-A')" = 0 ] || continue
    { iptables -w -t nat -F "$chain"; iptables -w -t nat -X "$chain"; } 2>/dev/null || true
  done
  [ "$(iptables -w -t nat -S CNI-HOSTPORT-DNAT | grep -c '^-A')" = 0 ] || return 0
  iptables -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
  iptables -w -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
  iptables -w -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ 2>/dev/null || true
  local c
  for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
    iptables -w -t nat -F "$c" 2>/dev/null || true
    iptables -w -t nat -X "$c" 2>/dev/null || true
  done
}

# kube_drop_proxy_chains: what `kube-proxy --cleanup` (1.20) leaves: its canary chains and the
# mark chains, once no rule jumps to them.
kube_drop_proxy_chains() {
  command -v iptables >/dev/null || return 0
  local table chain
  for table in mangle nat filter; do
    for chain in KUBE-PROXY-CANARY KUBE-MARK-MASQ KUBE-MARK-DROP; do
      iptables -w -t "$table" -S "$chain" >/dev/null 2>&1 || continue
      iptables -w -t "$table" -S | grep -E -- "-j $chain( |$)" >/dev/null && continue
      { iptables -w -t "$table" -F "$chain"; iptables -w -t "$table" -X "$chain"; } 2>/dev/null || true
    done
  done
}

# kube_stop_all: the whole teardown, used by stop-kube and by start-kube's failure trap.
kube_stop_all() {
  local kc="$KUBE_DIR/kubeconfig" i n
  # 1. Let the kubelet tear pods down properly (CNI DEL releases IPs and hostPort iptables rules).
  if pid_alive "$KUBE_DIR/pids/kubelet.pid" && pid_alive "$KUBE_DIR/pids/kube-apiserver.pid" && [ -f "$kc" ]; then
    if [ -n "$(kubectl --kubeconfig "$kc" get pods -A -o name --request-timeout=5s 2>/dev/null)" ]; then
      kubectl --kubeconfig "$kc" delete deployments,replicasets,statefulsets,daemonsets,jobs,pods --all -A \
        --grace-period=1 --wait=false --request-timeout=10s >/dev/null 2>&1 || true
      # Done when no container runs and host-local IPAM holds no address: its release is the last
      # step of a sandbox's CNI DEL (plugins are deleted in reverse: loopback, portmap, bridge).
      for ((i = 0; i < 200; i++)); do
        if ! kube_ctr tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"' | grep -q . &&
           ! ls "$KUBE_DIR/cni/ipam/modelport-kube" 2>/dev/null | grep -qE '^[0-9a-f.:]+$'; then
          break
        fi
        sleep 0.1
      done
    fi
  fi
  # 2. Processes, newest first. The API server can ignore SIGTERM for 30 s: SIGKILL after 5 s.
  # kube-proxy leaves its Service rules (KUBE-* chains) in the host's iptables: its --cleanup
  # removes them (the binary start-kube ran, recorded beside the pidfile).
  stop_pidfiles 5 "$KUBE_DIR/pids/kube-proxy.pid"
  if [ -x "$(cat "$KUBE_DIR/kube-proxy.bin" 2>/dev/null)" ]; then
    "$(cat "$KUBE_DIR/kube-proxy.bin")" --cleanup >/dev/null 2>&1 || true
    kube_drop_proxy_chains
  fi
  stop_pidfiles 5 "$KUBE_DIR"/pids/{kubelet,kube-scheduler,kube-controller-manager,kube-apiserver}.pid
  stop_pidfile "$KUBE_DIR/pids/etcd.pid" 5
  # 3. Whatever containers are left (sandboxes included), while containerd still runs.
  if pid_alive "$KUBE_DIR/pids/containerd.pid"; then
    for i in $(kube_ctr tasks ls -q 2>/dev/null); do kube_ctr tasks kill -s SIGKILL "$i" >/dev/null 2>&1 || true; done
    for ((n = 0; n < 30; n++)); do
      kube_ctr tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"' | grep -q . || break; sleep 0.1
    done
    for i in $(kube_ctr tasks ls -q 2>/dev/null); do kube_ctr tasks delete -f "$i" >/dev/null 2>&1 || true; done
    for i in $(kube_ctr containers ls -q 2>/dev/null); do kube_ctr containers delete "$i" >/dev/null 2>&1 || true; done
  fi
  stop_pidfile "$KUBE_DIR/pids/containerd.pid" 5
  for i in $(kube_shim_pids); do kill -9 "$i" 2>/dev/null || true; done
  # 4. Network leftovers of pods the kubelet did not tear down, the kernel settings, cgroups.
  ip link del "$KUBE_BRIDGE" >/dev/null 2>&1 || true
  rm -rf "$KUBE_DIR/cni/ipam"
  kube_drop_portmap_chains
  kube_restore_sysctls
  if [ -f "$KUBE_DIR/created-var-log-pods" ]; then  # the kubelet's hard-coded log dirs, if it made them
    rm -rf /var/log/pods /var/log/containers; rm -f "$KUBE_DIR/created-var-log-pods"
  fi
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  # Pod sandboxes' mounts (shm, volumes) under our kubelet and containerd dirs.
  grep -oE " $KUBE_DIR/[^ ]+" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  return 0
}
