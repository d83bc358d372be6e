package io.skein.internal.storage;

import io.skein.SkeinException;

/**
 * Storage failed: the file could not be opened, is corrupt or of an unknown schema, or a
 * transaction failed. A failed transaction rolled back as a whole: nothing of it is on disk.
 */
public final class StorageException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with an error code and a message that says what and why. */
  public StorageException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }

  /** Creates the exception with an error code and a message that says what and why. */
  public StorageException(String code, String message) {
    super(code, message);
  }
}
