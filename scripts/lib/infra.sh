# Shared helpers for the real-infrastructure scripts (start-podman, build-base-image, start-registry,
# start-kube, ...). Sourced, not executed. Everything here writes diagnostics to stderr only, so the
# callers' stdout stays the one line (or the few lines) their callers parse.

MODELPORT_CACHE="${MODELPORT_CACHE:-/var/cache/modelport}"
MODELPORT_STATE="${MODELPORT_STATE:-/var/tmp/modelport}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
note() { echo "$(basename "$0"): $*" >&2; }

# install_pkgs PKG...: apt-get install the Debian packages that are not installed yet (apt-get update
# first, only when something is missing). Needs root.
install_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "needs root to install: ${missing[*]}"
  command -v apt-get >/dev/null || die "no apt-get to install: ${missing[*]}"
  note "installing ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null) >&2 || die "apt-get install ${missing[*]} failed"
}

# debian_mirror [SUITE]: the URI of the configured Debian archive that serves SUITE (default
# bookworm), read from /etc/apt/sources.list.d/*.sources (deb822), *.list and /etc/apt/sources.list.
# Never hard-coded: CI machines point at their own mirror.
debian_mirror() {
  local suite="${1:-bookworm}" f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$suite" '
      function flush() { if (!done && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") { split(uris, u, " "); print u[1]; done = 1; exit } types = suites = uris = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "uris:"   { $1 = ""; uris = $0 }
      END { flush() }' "$f")
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }')
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  die "no Debian mirror for $suite in /etc/apt/sources.list{,.d/*}"
}

# pid_alive PIDFILE: true when PIDFILE names a live process.
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile PIDFILE [GRACE_SECONDS]: SIGTERM the process named in PIDFILE, SIGKILL it after GRACE
# seconds (default 10), remove the pidfile. Never signals anything by name.
stop_pidfile() {
  local f="$1" grace="${2:-10}" pid i
  if pid_alive "$f"; then
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# free_port START: the first TCP port >= START nobody listens on at 127.0.0.1.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
p = int(sys.argv[1])
while True:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        p += 1
PY
}
