package io.skein.internal.query;

import java.util.List;

/**
 * A SQL statement and the values of its {@code ?} parameters, in order. Each value is a {@link
 * String}, {@link Long}, {@link Double} or {@link Integer}, ready for {@code
 * PreparedStatement.setObject}.
 *
 * @param sql the statement text
 * @param parameters the parameter values
 */
public record SqlQuery(String sql, List<Object> parameters) {
  /** Copies the parameters. */
  public SqlQuery {
    parameters = List.copyOf(parameters);
  }
}
