#!/bin/sh
### Usage: prestart.sh COMMAND [ARG...]
### Migrates ferry's database (once, under a database lock), then becomes COMMAND, so the
### server receives the signals of the init that started this script.
set -o errexit -o nounset

python -m ferry.migrate
exec "$@"
