package io.skein;

/** When a commit reaches the disk. */
public enum Durability {
  /**
   * Every commit is fsynced before it is acknowledged (SQLite {@code synchronous=FULL} in WAL
   * mode): an acknowledged write survives a power loss.
   */
  FSYNC,
  /**
   * Commits are handed to the OS without fsync (SQLite {@code synchronous=NORMAL} in WAL mode): an
   * acknowledged write survives the process crashing, but not the machine losing power.
   */
  BUFFERED
}
