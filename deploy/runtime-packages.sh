#!/bin/sh
# Prints the Debian/Ubuntu packages that own the shared libraries the given
# binaries load, one per line, sorted: what a runtime image must install so
# that they start. Used by the Dockerfiles' build stages, so the runtime
# stages install exactly what the binaries were linked against.
#
#   deploy/runtime-packages.sh BINARY...
#
# Libraries owned by no package (a LibTorch unpacked under /opt) are named on
# stderr; the image copies those itself. The NVIDIA driver's libraries
# (libcuda, libnvidia-*) are not in a build image: the container runtime
# mounts them on GPU nodes, so they may be missing here. Any other missing
# library is an error.
set -eu
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }

libs=$(for bin in "$@"; do
  [ -x "$bin" ] || { echo "runtime-packages: $bin: not an executable" >&2; exit 1; }
  ldd "$bin"
done)

missing=$(printf '%s\n' "$libs" | awk '/=> not found/ {print $1}' | grep -v -E '^lib(cuda|nvidia-)' || true)
if [ -n "$missing" ]; then
  echo "runtime-packages: libraries not found: $missing" >&2
  exit 1
fi

# "libx.so.1 => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
paths=$(printf '%s\n' "$libs" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# dpkg records a file under the path its package ships it at; with merged
# /usr that may be /lib/... or /usr/lib/..., and the link or its target.
# Candidates in order of preference, "LIB<tab>PATH"; one dpkg -S for all.
for lib in $paths; do
  real=$(readlink -f "$lib")
  for p in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
    printf '%s\t%s\n' "$lib" "$p"
  done
done > "$tmp/candidates"
cut -f 2 "$tmp/candidates" | sort -u | xargs dpkg -S > "$tmp/owners" 2>/dev/null || true

# owners: "pkg[:arch]: /path"; print the owner of each library's first owned candidate.
awk -F '\t' '
  NR == FNR { i = index($0, ": "); if (i) { pkg = substr($0, 1, i - 1); sub(/:.*/, "", pkg); owner[substr($0, i + 2)] = pkg }; next }
  $1 in done { next }
  $2 in owner { done[$1] = 1; print owner[$2]; next }
  { seen[$1] = 1 }
  END { for (lib in seen) if (!(lib in done)) print "runtime-packages: not from a package: " lib > "/dev/stderr" }
' "$tmp/owners" "$tmp/candidates" | sort -u
