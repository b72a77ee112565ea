# A private containerd for the tests (sourced).  ctrd_start DIR runs
# containerd 1.6 as root on its own root (DIR/root), state (DIR/state) and
# sockets (DIR/*.sock), with the plugins the tests do not need disabled
# (CRI, the snapshotters but overlayfs and native, tracing); ctr ARGS runs
# ctr against it; ctrd_stop stops it by its pid and waits.  Nothing of the
# system's containerd (/var/lib/containerd, /run/containerd) is used.
# Needs: root, containerd, ctr.  ctrd_missing prints why it cannot run.
ctrd_dir=
ctrd_pid=

ctrd_missing () {
  if [ "$(id -u)" != 0 ]; then
    echo "containerd needs root"
  elif ! command -v containerd > /dev/null || ! command -v ctr > /dev/null; then
    echo "containerd or ctr not installed (apt-get install containerd)"
  else
    return 1
  fi
}

ctrd_start () {
  ctrd_dir=$1
  mkdir -p "$ctrd_dir/root" "$ctrd_dir/state"
  cat > "$ctrd_dir/config.toml" <<TOML
version = 2
root = "$ctrd_dir/root"
state = "$ctrd_dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$ctrd_dir/containerd.sock"
[ttrpc]
  address = "$ctrd_dir/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
TOML
  containerd --config "$ctrd_dir/config.toml" > "$ctrd_dir/containerd.log" 2>&1 &
  ctrd_pid=$!
  local i
  for i in $(seq 1 100); do
    if [ -S "$ctrd_dir/containerd.sock" ] && ctr version > /dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$ctrd_pid" 2> /dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "# containerd did not start; its log:" >&2
  sed 's/^/#   /' "$ctrd_dir/containerd.log" | tail -20 >&2
  ctrd_stop
  return 1
}

ctr () {
  command ctr --address "$ctrd_dir/containerd.sock" "$@"
}

ctrd_stop () {
  if [ -n "$ctrd_pid" ]; then
    kill "$ctrd_pid" 2> /dev/null
    wait "$ctrd_pid" 2> /dev/null
    ctrd_pid=
  fi
}

# A private Docker 20.10 daemon (vfs, no networking) to load what we
# write: dockerd_start DIR; docker ARGS; dockerd_stop.
dockerd_dir=
dockerd_pid=

dockerd_start () {
  dockerd_dir=$1
  mkdir -p "$dockerd_dir/data" "$dockerd_dir/exec"
  dockerd --storage-driver vfs --iptables=false --ip-masq=false --bridge=none \
    --data-root "$dockerd_dir/data" --exec-root "$dockerd_dir/exec" \
    --pidfile "$dockerd_dir/docker.pid" --host "unix://$dockerd_dir/docker.sock" \
    > "$dockerd_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local i
  for i in $(seq 1 300); do
    if [ -S "$dockerd_dir/docker.sock" ] && docker version > /dev/null 2>&1; then
      return 0
    fi
    kill -0 "$dockerd_pid" 2> /dev/null || break
    sleep 0.1
  done
  echo "# dockerd did not start; its log:" >&2
  sed 's/^/#   /' "$dockerd_dir/dockerd.log" | tail -20 >&2
  dockerd_stop
  return 1
}

docker () {
  command docker --host "unix://$dockerd_dir/docker.sock" "$@"
}

dockerd_stop () {
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2> /dev/null
    wait "$dockerd_pid" 2> /dev/null
    dockerd_pid=
  fi
}
