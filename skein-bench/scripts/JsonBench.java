import io.skein.internal.json.Json;
public class JsonBench {
  public static void main(String[] a) {
    String body = "{\"seq\":12345,\"name\":\"document 12345\",\"tags\":[\"a\",\"b\",\"c\"],\"nested\":{\"x\":1,\"y\":\"two\",\"z\":[1,2,3]},\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
    long sink = 0;
    for (int round = 0; round < 6; round++) {
      long t0 = System.nanoTime();
      int n = 400_000;
      for (int i = 0; i < n; i++) {
        var node = Json.parseObject(body, "the document");
        sink += Json.compactDocument(node, 1 << 20).length();
      }
      long t1 = System.nanoTime();
      if (round >= 3) System.out.printf("%.2f us per parse+check+compact%n", (t1 - t0) / 1e3 / n);
    }
    if (sink == 42) System.out.println();
  }
}
