package io.skein.core.query;

/**
 * What matching may spend: {@link InMemoryQuery#matches(Selector,
 * com.fasterxml.jackson.databind.JsonNode, String, WorkBudget)} charges it for the work whose size
 * depends on the document (array elements and object keys visited, a {@code $regex}'s program size
 * times its input's length) before doing it, so that a caller with a deadline can stop a query
 * inside one expensive document. The core has no clock: the budget decides what a step is worth.
 */
@FunctionalInterface
public interface WorkBudget {
  /** A budget that never runs out. */
  WorkBudget UNLIMITED = steps -> {};

  /**
   * Charges steps of work about to be done.
   *
   * @throws RuntimeException of the caller's choosing when the budget is spent
   */
  void charge(long steps);
}
