# shellcheck shell=bash
# Finds a JDK 21 or newer and exports JAVA_HOME and PATH for it.
# Order: $JAVA_HOME, then the usual install locations, then `java` on the PATH.
# Sourced by bin/test and bin/datastore-node; fails with a clear message if none is found.

skein_java_feature() {
  # Prints the feature release (17, 21, 25 ...) of the JDK at $1, or nothing.
  local home="$1" v
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  fi
  printf '%s' "$v"
}

skein_find_java() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/java/* \
    "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
    /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$c" ] && candidates+=("$c")
  done
  if command -v javac >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    candidates+=("$c")
  fi
  for c in "${candidates[@]}"; do
    v=$(skein_java_feature "$c")
    if [ -n "$v" ] && [ "$v" -ge 21 ]; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "error: Skein needs a JDK 21 or newer, and none was found." >&2
  echo "       Looked at \$JAVA_HOME, /usr/lib/jvm, /opt/java, ~/.sdkman and the PATH." >&2
  echo "       Install one (for example Temurin 21) or set JAVA_HOME to it." >&2
  return 1
}
