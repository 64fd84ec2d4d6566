#!/usr/bin/env bash
# The official redis image's entrypoint contract, the parts this project uses:
# - arguments that begin with `-`, or a `*.conf` file, are options of redis-server;
# - as root, it owns the working directory (/data) to the redis user and runs itself again as it;
# - redis-server without a configuration file listens on every address with protected mode off,
#   as the official image's build makes it (Debian's binary defaults to on, which would refuse
#   every client from another container).
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$BASH_SOURCE" "$@"
fi

options=${2:-}
if [ "$1" = redis-server ] && [ "${options%.conf}" = "$options" ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi

# As the official image: files it writes (snapshots) readable by redis alone.
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi
exec "$@"
