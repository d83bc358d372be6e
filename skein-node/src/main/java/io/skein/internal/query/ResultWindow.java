package io.skein.internal.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.Query;
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
  private int skipped;
  private long examined;
  private long matched;

  private record Hit<R>(List<JsonNode> values, String id, R row) {
    Map.Entry<List<JsonNode>, String> key() {
      return Map.entry(values, id);
    }
  }

  /** Opens a window for one run of the query. */
  public ResultWindow(Query query) {
    this.query = query;
    this.keep = (int) Math.min(Integer.MAX_VALUE, (long) query.skip() + query.limit());
    Comparator<Map.Entry<List<JsonNode>, String>> result = InMemoryQuery.resultOrder(query.sort());
    this.order = (a, b) -> result.compare(a.key(), b.key());
    // The heap's head is the worst hit kept, so that a better one can replace it.
    this.best = new PriorityQueue<>(order.reversed());
  }

  /**
   * Offers a candidate; {@code row} is called only for a candidate that the page keeps.
   *
   * @return whether more candidates can change the page; {@code false} once an unsorted page is
   *     full, so that the caller can stop reading
   */
  public boolean offer(String id, JsonNode document, Supplier<R> row) {
    examined++;
    if (!InMemoryQuery.matches(query.selector(), document, id)) {
      return true;
    }
    if (query.sort().isEmpty()) {
      matched++;
      if (skipped < query.skip()) {
        skipped++;
        return true;
      }
      page.add(row.get());
      return page.size() < query.limit();
    }
    @Nullable List<JsonNode> values = InMemoryQuery.sortValues(query.sort(), document, id);
    if (values == null) {
      return true;
    }
    matched++;
    if (best.size() < keep) {
      best.add(new Hit<>(values, id, row.get()));
      return true;
    }
    Hit<R> worst = best.peek();
    // Compared before the row is built: most matches of a large result lose to the kept ones.
    Hit<R> probe = new Hit<>(values, id, worst.row());
    if (order.compare(probe, worst) < 0) {
      best.poll();
      best.add(new Hit<>(values, id, row.get()));
    }
    return true;
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
