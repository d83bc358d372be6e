import java.net.URI;
import java.net.http.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.*;

public class Load {
  public static void main(String[] a) throws Exception {
    String base = a[0]; int threads = Integer.parseInt(a[1]); int seconds = Integer.parseInt(a[2]); String mode = a[3];
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    AtomicLong ok = new AtomicLong(), bad = new AtomicLong();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      ts.add(Thread.ofPlatform().start(() -> {
        long n = 0;
        while (System.nanoTime() < end) {
          n++;
          try {
            HttpRequest r = mode.equals("health")
              ? HttpRequest.newBuilder(URI.create(base + "/health")).GET().build()
              : HttpRequest.newBuilder(URI.create(base + "/v1/collections/bench/docs/t" + id + "-" + n + "?w=majority"))
                  .header("Content-Type", "application/json")
                  .PUT(HttpRequest.BodyPublishers.ofString("{\"seq\":" + n + ",\"name\":\"document " + n + "\",\"tags\":[\"a\",\"b\"],\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}")).build();
            int s = http.send(r, HttpResponse.BodyHandlers.ofString()).statusCode();
            if (s == 200) ok.incrementAndGet(); else bad.incrementAndGet();
          } catch (Exception e) { bad.incrementAndGet(); }
        }
      }));
    }
    for (Thread t : ts) t.join();
    System.out.printf("%s: %d ok (%.0f/s), %d bad%n", mode, ok.get(), ok.get() / (double) seconds, bad.get());
  }
}
