package io.skein.internal.storage;

import io.skein.SkeinException;

/**
 * A backup could not be taken, or a backup file was refused. The code says which; the message names
 * the file and the problem. Codes:
 *
 * <ul>
 *   <li>{@value #IN_PROGRESS}: a backup of this node is already running (one at a time);
 *   <li>{@value #FAILED}: the snapshot could not be made (SQLite, disk);
 *   <li>{@value #NOT_A_BACKUP}: the file is not a Skein backup at all;
 *   <li>{@value #DAMAGED}: a checksum does not match, or the contents contradict the manifest;
 *   <li>{@value #TRUNCATED}: the file ends before the manifest says it does;
 *   <li>{@value #UNSUPPORTED}: a newer format or schema than this build reads;
 *   <li>{@value #UNREADABLE}: the file cannot be read (I/O);
 *   <li>{@value #REFUSED}: the restore would overwrite data, or its options do not fit the file.
 * </ul>
 */
public final class BackupException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** A backup of this node is already running. */
  public static final String IN_PROGRESS = "backup_in_progress";

  /** The snapshot could not be made. */
  public static final String FAILED = "backup_failed";

  /** The file is not a Skein backup. */
  public static final String NOT_A_BACKUP = "not_a_backup";

  /** A checksum does not match, or the contents contradict the manifest. */
  public static final String DAMAGED = "backup_damaged";

  /** The file ends early. */
  public static final String TRUNCATED = "backup_truncated";

  /** A newer format or schema than this build reads. */
  public static final String UNSUPPORTED = "backup_unsupported";

  /** The file cannot be read. */
  public static final String UNREADABLE = "backup_unreadable";

  /** The restore would overwrite data, or its options do not fit the file. */
  public static final String REFUSED = "restore_refused";

  /** Creates the exception with its code and a message that names the file and the problem. */
  public BackupException(String code, String message) {
    super(code, message);
  }

  /** Creates the exception with a cause. */
  public BackupException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
