package io.skein.core.config;

import java.util.Locale;

/** How a running node takes a new value of a setting (DESIGN.md "Runtime configuration"). */
public enum ReloadClass {
  /** Applied live by the component that owns it, without a restart of anything. */
  DYNAMIC,
  /** Its owner component stops and starts again in place; the rest of the node keeps running. */
  RESTART_COMPONENT,
  /** Read once at start; a change at run time is refused with an error that names the field. */
  STATIC;

  /** Returns the name used in docs, the admin API and events: {@code restart-component}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
