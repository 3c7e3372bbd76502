# The test cluster's real node (sourced by scripts/test-cluster for `start --real-node`): kubelet,
# containerd + runc and kube-proxy, all inside a network namespace of its own, so that Pod and Service
# addresses exist nowhere else and nothing is routed off the machine.
#
#   host network namespace                 node network namespace wp-<hash of the cluster dir>
#   kube-apiserver on HOST_IP (and         eth0 NODE_IP/30 ── kubelet (:10250), kube-proxy (iptables,
#   the rest of the control plane on       │                  conntrack: this namespace's own), containerd
#   127.0.0.1)                             cni0 10.88.0.1/16 ── pods (CNI bridge, host-local IPAM)
#   wph-<hash> HOST_IP/30 ───── veth ───── eth0
#
# HOST_IP/NODE_IP are a free /30 of 100.64.0.0/10 (shared address space: never routed on the internet).
# The node namespace has no default route: pods reach the API server (Service `kubernetes`, 10.0.0.1,
# whose endpoint is HOST_IP) and nothing else outside; their packets to it are masqueraded to NODE_IP, so
# the host needs no route to the pods. The host reaches Pod and Service addresses only through a process
# inside the namespace (`scripts/test-cluster exec <dir> <cmd>`).
#
# Identity: the kubelet has a client certificate of its own (system:node:real-0 in system:nodes, so the
# Node authorizer applies) and a serving certificate for NODE_IP signed by the cluster's CA, which the API
# server verifies for `kubectl logs/exec/port-forward`; kube-proxy is system:kube-proxy.
# Everything it writes is under <dir>/node, except what kubelet and containerd hard-code: the log
# symlinks in /var/log/containers (removed on stop).

NODE_NAME=real-0
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.0.0.0/24
NODE_PROCS=(containerd kubelet kube-proxy)

node_preflight() {
	[ "$(id -u)" -eq 0 ] || die "--real-node needs root (network namespaces, containerd, kubelet)"
	local b
	for b in kubelet kube-proxy; do
		[ -x "$BIN/$b" ] || die "$BIN/$b is missing (scripts/toolchain builds it)"
	done
	for b in containerd containerd-shim-runc-v2 runc ctr iptables nsenter ip; do
		command -v "$b" >/dev/null || die "$b is missing (scripts/system-packages installs it)"
	done
	[ -x /usr/lib/cni/bridge ] || die "/usr/lib/cni/bridge is missing (scripts/system-packages installs containernetworking-plugins)"
}

# The names of this cluster's namespace and veth, from the cluster directory (so stop finds them again).
node_names() {
	local h
	h="$(printf %s "$1" | sha256sum | cut -c1-8)"
	NETNS="wp-$h"
	VETH="wph-$h"
}

in_node() { nsenter --net="/run/netns/$NETNS" "$@"; }

# A /30 of 100.64.0.0/10 that no interface or route of the host uses.
pick_link() {
	local i a b
	for i in $(seq 1 50); do
		a=$((64 + RANDOM % 64)) b=$((RANDOM % 256))
		local c=$(((RANDOM % 64) * 4))
		if ! ip -o -4 addr show | grep -q " 100\.$a\.$b\.[0-9]*/" && [ -z "$(ip -4 route show to match "100.$a.$b.$c" | grep -v '^default')" ]; then
			HOST_IP="100.$a.$b.$((c + 1))"
			NODE_IP="100.$a.$b.$((c + 2))"
			return 0
		fi
	done
	die "no free /30 in 100.64.0.0/10"
}

node_network_up() {
	node_names "$DIR"
	mkdir -p "$DIR/node"
	pick_link
	printf 'NETNS=%s\nVETH=%s\nHOST_IP=%s\nNODE_IP=%s\n' "$NETNS" "$VETH" "$HOST_IP" "$NODE_IP" >"$DIR/node/net.env"
	ip netns add "$NETNS"
	ip link add "$VETH" type veth peer name "${VETH/wph/wpn}"
	ip link set "${VETH/wph/wpn}" netns "$NETNS"
	ip addr add "$HOST_IP/30" dev "$VETH"
	ip link set "$VETH" up
	in_node sh -euc '
		ip link set lo up
		ip link set "$1" name eth0
		ip addr add "$2/30" dev eth0
		ip link set eth0 up
		sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
		# A route for Service addresses, so that processes of the namespace itself (not only pods) reach
		# them: kube-proxy rewrites them in OUTPUT, after the route lookup. A port-less bridge stands in
		# for a dummy interface (no dummy driver in this kernel); what no Service claims goes nowhere.
		ip link add svc0 type bridge
		ip link set svc0 up
		ip route add "$4" dev svc0
		# Pods reach the host (the API server) as NODE_IP: the host has no route to the pod network.
		iptables -t nat -A POSTROUTING -s "$3" ! -d "$3" -o eth0 -j MASQUERADE
	' sh "${VETH/wph/wpn}" "$NODE_IP" "$POD_CIDR" "$SERVICE_CIDR"
	log "node network: namespace $NETNS, $VETH $HOST_IP <-> eth0 $NODE_IP, pods $POD_CIDR"
}

gen_node_certs() {
	local d="$DIR/pki"
	(
		cd "$d"
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:%s,DNS:%s\n' "$NODE_IP" "$NODE_NAME" >kubelet-serving.ext
		sign() { # sign <name> <subject> <ext>
			openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
			openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$3" 2>/dev/null
		}
		sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" client.ext
		sign kubelet-serving "/CN=$NODE_NAME" kubelet-serving.ext
		sign kube-proxy "/CN=system:kube-proxy" client.ext
		sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client.ext
		rm -f ./*.csr ./*.ext
		chmod 600 ./*.key
	)
}

# kubeconfig_for <file> <cert name>: a kubeconfig for one of the node's identities.
kubeconfig_for() {
	cat >"$1" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: warmpool-test
		  cluster:
		    server: https://$HOST_IP:$API_PORT
		    certificate-authority: $DIR/pki/ca.crt
		users:
		- name: $2
		  user:
		    client-certificate: $DIR/pki/$2.crt
		    client-key: $DIR/pki/$2.key
		contexts:
		- name: $2
		  context: {cluster: warmpool-test, user: $2}
		current-context: $2
	EOF
	chmod 600 "$1"
}

write_node_configs() {
	local n="$DIR/node"
	mkdir -p "$n/containerd" "$n/cni/net.d" "$n/cni/ipam" "$n/kubelet" "$n/pod-logs" "$n/kube-proxy"
	# restrict_oom_score_adj: the CRI asks for oom_score_adj -998 for sandboxes, which needs
	# CAP_SYS_RESOURCE (absent here): runc then fails with "can't get final child's PID from pipe".
	cat >"$n/containerd/config.toml" <<-EOF
		version = 2
		root = "$n/containerd/root"
		state = "$n/containerd/state"
		oom_score = 0
		disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
		[grpc]
		  address = "$n/containerd/containerd.sock"
		[ttrpc]
		  address = "$n/containerd/containerd.sock.ttrpc"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "$PAUSE_IMAGE"
		  restrict_oom_score_adj = true
		  netns_mounts_under_state_dir = true
		  disable_apparmor = true
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  [plugins."io.containerd.grpc.v1.cri".containerd]
		    snapshotter = "overlayfs"
		    default_runtime_name = "runc"
		    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		      runtime_type = "io.containerd.runc.v2"
		      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		        SystemdCgroup = false
		        Root = "$n/containerd/runc"
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "/usr/lib/cni"
		    conf_dir = "$n/cni/net.d"
	EOF
	cat >"$n/cni/net.d/10-warmpool.conflist" <<-EOF
		{
		  "cniVersion": "0.4.0",
		  "name": "warmpool",
		  "plugins": [
		    {
		      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
		      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$n/cni/ipam" }
		    },
		    { "type": "portmap", "capabilities": { "portMappings": true } }
		  ]
		}
	EOF
	# Pods get no name servers: nothing outside the node namespace is reachable anyway.
	: >"$n/resolv.conf"
	kubeconfig_for "$n/kubelet/kubeconfig" kubelet
	cat >"$n/kubelet/config.yaml" <<-EOF
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		address: $NODE_IP
		port: 10250
		readOnlyPort: 0
		healthzBindAddress: 127.0.0.1
		healthzPort: 10248
		authentication:
		  anonymous: {enabled: false}
		  webhook: {enabled: true}
		  x509: {clientCAFile: $DIR/pki/ca.crt}
		authorization: {mode: Webhook}
		tlsCertFile: $DIR/pki/kubelet-serving.crt
		tlsPrivateKeyFile: $DIR/pki/kubelet-serving.key
		containerRuntimeEndpoint: unix://$n/containerd/containerd.sock
		podLogsDir: $n/pod-logs
		volumePluginDir: $n/kubelet/volume-plugins
		resolvConf: $n/resolv.conf
		# cgroup v1 controllers with a cgroup2 mount, no systemd, no CAP_SYS_RESOURCE: no QoS cgroups,
		# no node allocatable enforcement, no eviction, no kernel tuning.
		cgroupDriver: cgroupfs
		failCgroupV1: false
		cgroupsPerQOS: false
		enforceNodeAllocatable: []
		failSwapOn: false
		localStorageCapacityIsolation: false
		evictionHard: {}
		protectKernelDefaults: false
		makeIPTablesUtilChains: false
		# Images are loaded, never pulled, and never collected.
		serializeImagePulls: false
		imageGCHighThresholdPercent: 100
		imageGCLowThresholdPercent: 99
		maxPods: 110
		nodeStatusUpdateFrequency: 5s
	EOF
	kubeconfig_for "$n/kube-proxy/kubeconfig" kube-proxy
	cat >"$n/kube-proxy/config.yaml" <<-EOF
		apiVersion: kubeproxy.config.k8s.io/v1alpha1
		kind: KubeProxyConfiguration
		clientConnection: {kubeconfig: $n/kube-proxy/kubeconfig}
		hostnameOverride: $NODE_NAME
		mode: iptables
		clusterCIDR: $POD_CIDR
		bindAddress: $NODE_IP
		healthzBindAddress: 127.0.0.1:10256
		metricsBindAddress: 127.0.0.1:10249
		nodePortAddresses: [$NODE_IP/32]
		# Conntrack is this namespace's own; its limits are the host's to set.
		conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
	EOF
}

node_start() {
	local n="$DIR/node" images archives=() a
	PAUSE_IMAGE="$("$ROOT/scripts/images" build pause | awk '{print $2}')"
	write_node_configs
	launch "$DIR" containerd "$DIR" nsenter --net="/run/netns/$NETNS" containerd --config "$n/containerd/config.toml"
	wait_for "containerd up" ctr --address "$n/containerd/containerd.sock" version ||
		die "containerd did not start (see $DIR/logs/containerd.log)"
	# The images of this repository (plus TEST_CLUSTER_IMAGES: more archives), as a node that has them cached.
	images="$("$ROOT/scripts/images" build)" || die "scripts/images build failed"
	while read -r _ _ a; do archives+=("$a"); done <<<"$images"
	for a in ${TEST_CLUSTER_IMAGES:-}; do archives+=("$a"); done
	"$ROOT/scripts/images" load "$n/containerd/containerd.sock" "${archives[@]}"
	launch "$DIR" kubelet "$DIR" nsenter --net="/run/netns/$NETNS" "$BIN/kubelet" \
		--config="$n/kubelet/config.yaml" --kubeconfig="$n/kubelet/kubeconfig" \
		--root-dir="$n/kubelet/root" --cert-dir="$n/kubelet/pki" \
		--hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --node-labels=warmpool.dev/node=real
	launch "$DIR" kube-proxy "$DIR" nsenter --net="/run/netns/$NETNS" "$BIN/kube-proxy" --config="$n/kube-proxy/config.yaml"
	wait_for "node $NODE_NAME registered" "$BIN/kubectl" --kubeconfig="$DIR/kubeconfig" get node "$NODE_NAME" ||
		die "the kubelet did not register $NODE_NAME (see $DIR/logs/kubelet.log)"
	wait_for "kube-proxy synced the kubernetes Service" in_node sh -c "iptables -t nat -S KUBE-SERVICES | grep -q '10.0.0.1/32'" ||
		die "kube-proxy did not program Services (see $DIR/logs/kube-proxy.log)"
}

# Processes of this node outside the pid files: containerd's shims (started with our socket address) and
# anything running in a root file system under <dir> (the containers). Identified by id, never by name.
node_strays() {
	local p root
	for p in /proc/[0-9]*; do
		p="${p#/proc/}"
		[ "$p" != "$$" ] || continue
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$DIR/node/containerd/containerd.sock"; then
			echo "$p"
			continue
		fi
		root="$(readlink "/proc/$p/root" 2>/dev/null)" || continue
		case "$root" in "$DIR"/*) echo "$p" ;; esac
	done
}

node_stop() {
	local dir="$1" n="$1/node" sock p id left
	[ -f "$n/net.env" ] || return 0
	# shellcheck disable=SC1091
	. "$n/net.env"
	DIR="$dir"
	sock="$n/containerd/containerd.sock"
	for p in kube-proxy kubelet; do
		! pid_alive "$dir/pids/$p.pid" || kill -TERM "$(cat "$dir/pids/$p.pid")" 2>/dev/null || true
	done
	wait_gone "$dir" kube-proxy kubelet
	# Containers first, while containerd can still reap them and tell their shims to exit.
	if pid_alive "$dir/pids/containerd.pid" && [ -S "$sock" ]; then
		for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr --address "$sock" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
		done
		for _ in $(seq 1 50); do
			[ -n "$(ctr --address "$sock" -n k8s.io tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"')" ] || break
			sleep 0.2
		done
		for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr --address "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
		done
		kill -TERM "$(cat "$dir/pids/containerd.pid")" 2>/dev/null || true
	fi
	wait_gone "$dir" containerd
	for p in containerd kubelet kube-proxy; do
		if pid_alive "$dir/pids/$p.pid"; then
			log "$p did not exit on TERM; killing"
			kill -KILL "$(cat "$dir/pids/$p.pid")" 2>/dev/null || true
		fi
		rm -f "$dir/pids/$p.pid"
	done
	left="$(node_strays)"
	if [ -n "$left" ]; then
		log "killing what is left of the node: $(echo "$left" | tr '\n' ' ')"
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null || true
		for _ in $(seq 1 25); do
			[ -n "$(node_strays)" ] || break
			sleep 0.2
		done
	fi
	# Mounts of the node (overlay root file systems, shm, pod network namespaces, secret and projected
	# volumes), deepest first.
	local m
	for m in $(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1 { print length, $0 }' | sort -rn | cut -d' ' -f2-); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
	done
	# What the kubelet keeps outside <dir>: container log links.
	find /var/log/containers -maxdepth 1 -type l -lname "$dir/*" -delete 2>/dev/null || true
}

# The network namespace, which takes the veth pair with it: last, once the API server (listening on the
# host end) has stopped.
node_network_down() {
	local n="$1/node"
	[ -f "$n/net.env" ] || return 0
	# shellcheck disable=SC1091
	. "$n/net.env"
	ip netns del "$NETNS" 2>/dev/null || true
	ip link del "$VETH" 2>/dev/null || true
	rm -f "$n/net.env"
}

# wait_gone <dir> <name>...: up to 10 s for the named processes to exit.
wait_gone() {
	local dir="$1" p left
	shift
	for _ in $(seq 1 50); do
		left=0
		for p in "$@"; do
			! pid_alive "$dir/pids/$p.pid" || left=1
		done
		[ "$left" = 1 ] || return 0
		sleep 0.2
	done
}
