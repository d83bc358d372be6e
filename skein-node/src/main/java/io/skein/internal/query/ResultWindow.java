package io.skein.internal.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.InvalidQueryException;
import io.skein.core.query.Query;
import io.skein.core.query.WorkBudget;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Takes the candidates of a query ({@link SqlQueryTranslator#select}) one at a time, keeps those
 * the selector matches ({@link InMemoryQuery#matches}), and returns the page the query asks for.
 *
 * <p>Without a sort the candidates come in id order, which is the result order, so the window
 * counts off {@code skip} and stops taking rows once it holds {@code limit}. With a sort it keeps
 * the best {@code skip + limit} matches in a heap ({@code O(log n)} per match; memory bounded by
 * {@code skip + limit} rows) and sorts them at the end.
 *
 * <p>Not thread-safe: one window per query run.
 *
 * @param <R> the row type, carried through to the result
 */
public final class ResultWindow<R> {
  private final Query query;
  private final int keep;
  private final Comparator<Hit<R>> order;
  private final List<R> page = new ArrayList<>();
  private final PriorityQueue<Hit<R>> best;
  private final WorkBudget budget;
  private long heldBytes;
  private int skipped;
  private long examined;
  private long matched;

  /**
   * The most document text a window holds: a sorted query keeps its best {@code skip + limit} rows,
   * and a page its {@code limit}; past this the query is refused, not the heap exhausted.
   */
  public static final long HELD_BYTES_MAX = 64L << 20;

  private record Hit<R>(List<JsonNode> values, String id, long bytes, R row) {
    Map.Entry<List<JsonNode>, String> key() {
      return Map.entry(values, id);
    }
  }

  /** Opens a window for one run of the query, with no limit on the work of matching. */
  public ResultWindow(Query query) {
    this(query, WorkBudget.UNLIMITED);
  }

  /**
   * Opens a window for one run of the query.
   *
   * @param budget charged for the work of matching each candidate
   */
  public ResultWindow(Query query, WorkBudget budget) {
    this.query = query;
    this.budget = budget;
    this.keep = (int) Math.min(Integer.MAX_VALUE, (long) query.skip() + query.limit());
    Comparator<Map.Entry<List<JsonNode>, String>> result = InMemoryQuery.resultOrder(query.sort());
    this.order = (a, b) -> result.compare(a.key(), b.key());
    // The heap's head is the worst hit kept, so that a better one can replace it.
    this.best = new PriorityQueue<>(order.reversed());
  }

  /**
   * Offers a candidate; {@code row} is called only for a candidate that the page keeps.
   *
   * @param bytes about how much memory the row holds (its body's length)
   * @throws InvalidQueryException with code {@code query_too_large} if the rows kept would pass
   *     {@link #HELD_BYTES_MAX}
   * @return whether more candidates can change the page; {@code false} once an unsorted page is
   *     full, so that the caller can stop reading
   */
  public boolean offer(String id, JsonNode document, long bytes, Supplier<R> row) {
    examined++;
    if (!InMemoryQuery.matches(query.selector(), document, id, budget)) {
      return true;
    }
    if (query.sort().isEmpty()) {
      matched++;
      if (skipped < query.skip()) {
        skipped++;
        return true;
      }
      hold(bytes);
      page.add(row.get());
      return page.size() < query.limit();
    }
    @Nullable List<JsonNode> values = InMemoryQuery.sortValues(query.sort(), document, id);
    if (values == null) {
      return true;
    }
    matched++;
    if (best.size() < keep) {
      hold(bytes);
      best.add(new Hit<>(values, id, bytes, row.get()));
      return true;
    }
    Hit<R> worst = best.peek();
    // Compared before the row is built: most matches of a large result lose to the kept ones.
    Hit<R> probe = new Hit<>(values, id, bytes, worst.row());
    if (order.compare(probe, worst) < 0) {
      best.poll();
      heldBytes -= worst.bytes();
      hold(bytes);
      best.add(new Hit<>(values, id, bytes, row.get()));
    }
    return true;
  }

  private void hold(long bytes) {
    heldBytes += bytes;
    if (heldBytes > HELD_BYTES_MAX) {
      throw new InvalidQueryException(
          "query_too_large",
          "the query would hold more than "
              + (HELD_BYTES_MAX >> 20)
              + " MiB of documents ("
              + (query.sort().isEmpty() ? "limit" : "skip + limit, sorted")
              + "); lower skip or limit, or narrow the selector");
    }
  }

  /** Returns the page: the rows of the matches after {@code skip}, at most {@code limit}. */
  public List<R> page() {
    if (query.sort().isEmpty()) {
      return List.copyOf(page);
    }
    return best.stream()
        .sorted(order)
        .skip(query.skip())
        .limit(query.limit())
        .map(Hit::row)
        .toList();
  }

  /** Returns how many candidates were offered. */
  public long examined() {
    return examined;
  }

  /** Returns how many offered candidates matched (and, when sorted, had every sort field). */
  public long matched() {
    return matched;
  }
}
