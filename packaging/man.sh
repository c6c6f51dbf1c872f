#!/usr/bin/env bash
# man.sh PAGE ENV_FILE: prints the man page PAGE (packaging/man/*.1) with its
# version, date and key list filled in: @VERSION@ (from $VERSION), @DATE@
# (of the last commit, else today: the same sources give the same page), and
# at the line `.\" @ENVIRONMENT@` every KEY=default line of ENV_FILE, the
# commented env file that the package ships. Used by build.sh and make install.
set -euo pipefail
: "${VERSION:?VERSION must be set}"
page=$1 env=$2
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
keys=$(awk '
	match($0, /^#?[A-Z][A-Z0-9_]*=/) {
		line = $0; sub(/^#/, "", line)
		key = line; sub(/=.*/, "", key)
		val = line; sub(/^[^=]*=/, "", val)
		if (seen[key]++) next
		gsub(/\\/, "\\e", val)
		print ".TP"; print ".B " key
		print (val == "" ? "(no default)" : "Default: \\fI" val "\\fP")
	}' "$env")
[ -n "$keys" ] || { echo "man.sh: no KEY=value line in $env" >&2; exit 1; }
KEYS=$keys DATE=$date awk '
	$0 == ".\\\" @ENVIRONMENT@" { print ENVIRON["KEYS"]; next }
	{ gsub(/@VERSION@/, ENVIRON["VERSION"]); gsub(/@DATE@/, ENVIRON["DATE"]); print }' "$page"
