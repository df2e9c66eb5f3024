#!/bin/bash
# Stand-in for the official clickhouse-server image's entrypoint, built on
# Debian's clickhouse-server 18.16: the part of its contract the chart relies
# on. The chart's users.d file takes the password from the environment
# (<password from_env="CLICKHOUSE_SERVER_PASSWORD"/>), which current
# ClickHouse resolves itself and 18.16 does not know; so the configuration is
# copied to /tmp (the root filesystem is read-only) with every from_env
# element filled in from the environment, and the server runs on that copy.
set -euo pipefail

src=/etc/clickhouse-server
etc=/tmp/clickhouse-server
rm -rf "$etc"
mkdir -p "$etc"
cp -rL "$src/." "$etc/"
chmod -R u+w "$etc"
umask 077
find "$etc" -name '*.xml' -print0 | xargs -0 perl -pi -e '
  sub esc { my $v = shift // ""; $v =~ s/&/&amp;/g; $v =~ s/</&lt;/g; $v =~ s/>/&gt;/g; $v =~ s/"/&quot;/g; $v }
  s{<(\w+)\s+from_env="(\w+)"\s*/>}{"<$1>" . esc($ENV{$2}) . "</$1>"}ge;
'

args=("$@")
for i in "${!args[@]}"; do
  args[$i]=${args[$i]//$src\//$etc/}
done
exec /usr/sbin/clickhouse-server "${args[@]}"
