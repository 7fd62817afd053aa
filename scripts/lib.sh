# Shared by scripts/run and scripts/test: the Python environment, the Node tools,
# and the local servers (Azurite, PostgreSQL, MariaDB). Source it; don't run it.

STARTED_PIDS=()
PG_DATAS=()

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pick_python() {
  # Python 3.12+; .python-version selects 3.13 where pyenv is installed.
  local candidate
  for candidate in python3.13 python3.12 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Datastore Studio needs Python 3.12 or newer (python3.12 or python3.13 on PATH)." >&2
  return 1
}

ensure_python_env() {
  # Create .venv once; reinstall only when the requirements files change.
  local requirements=$1 python stamp wanted
  if [ ! -x .venv/bin/python ]; then
    python=$(pick_python)
    say "Creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
  wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)-$requirements
  stamp=.venv/.installed-$(basename "$requirements")
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "Installing $requirements"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
  fi
}

ensure_node_tools() {
  if [ ! -x node_modules/.bin/azurite-blob ]; then
    say "Installing Azurite from npm into node_modules/"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

ensure_apt_packages() {
  # Install missing Debian packages when we are root (CI, a fresh machine).
  local missing=() binary package
  while [ $# -gt 0 ]; do
    binary=$1 package=$2; shift 2
    [ -e "$binary" ] || command -v "$binary" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  say "Installing ${missing[*]} with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

free_port() {
  .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
  local port=$1 name=$2 tries=0
  until .venv/bin/python -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 100 ]; then echo "$name did not start on port $port" >&2; return 1; fi
    sleep 0.2
  done
}

azurite_command() {
  # azurite_command PORT DATA_DIR|--in-memory: the command line of Azurite's blob service as every
  # script here runs it, one argument per line (bench/run-transfer hands it to bench/transfer.py,
  # which restarts Azurite).
  local port=$1 location=$2
  printf '%s\n' node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$port" \
    --skipApiVersionCheck --loose --disableTelemetry --silent
  if [ "$location" = --in-memory ]; then echo --inMemoryPersistence; else printf '%s\n' --location "$location"; fi
}

start_azurite() {
  # start_azurite PORT DATA_DIR|--in-memory
  local port=$1 location=$2 command
  [ "$location" = --in-memory ] || mkdir -p "$location"
  mapfile -t command < <(azurite_command "$port" "$location")
  "${command[@]}" >/dev/null &
  STARTED_PIDS+=($!)
  wait_for_port "$port" Azurite
}

start_postgres() {
  # start_postgres PORT DIR [--ssl]: a throwaway cluster owned by postgres (initdb refuses root).
  # With --ssl it serves TLS with a self-signed certificate (and still accepts plain connections).
  local port=$1 dir=$2 ssl=${3:-} bin ssl_args=""
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  mkdir -p "$dir"
  chmod 711 "$(dirname "$dir")"  # mktemp -d folders are 700; the postgres user must reach in
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run_pg() { runuser -u postgres -- "$@"; }; else run_pg() { "$@"; }; fi
  run_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  if [ "$ssl" = --ssl ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
      -keyout "$dir/data/server.key" -out "$dir/data/server.crt" 2>/dev/null
    chmod 600 "$dir/data/server.key"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/data/server.key" "$dir/data/server.crt"
    ssl_args="-c ssl=on"
  fi
  run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off $ssl_args" start >/dev/null
  PG_DATAS+=("$dir/data")
  PG_BIN="$bin"
}

start_mariadb() {
  # start_mariadb PORT DIR: a throwaway MariaDB; root logs in over TCP with the password "root".
  local port=$1 dir=$2
  mkdir -p "$dir"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
  mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --bind-address=127.0.0.1 --port="$port" \
    --socket="$dir/sock" --pid-file="$dir/pid" --skip-name-resolve --skip-log-bin >"$dir/log" 2>&1 &
  STARTED_PIDS+=($!)
  wait_for_port "$port" MariaDB
  mariadb --no-defaults --socket="$dir/sock" -uroot \
    -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'root'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
}

stop_services() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  local data
  for data in "${PG_DATAS[@]}"; do
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
    else
      "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
    fi
  done
}
