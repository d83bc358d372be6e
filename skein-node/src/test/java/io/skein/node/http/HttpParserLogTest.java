package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * A stranger's malformed HTTP is answered, not logged: Jetty's parser warns about some of it (a
 * repeated {@code Host}, quoting the values sent), so anyone could flood the node's log, one line
 * per request. The node's logback.xml keeps that logger at ERROR.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpParserLogTest {
  private RawHttp node;

  @BeforeAll
  void start() throws Exception {
    node = RawHttp.start("skein-parser-log-test");
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void malformedRequestsAreAnsweredWithoutAWarningEach() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    root.addAppender(appender);
    try {
      List<String> heads =
          List.of(
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n",
              "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nHost: c\r\n",
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n",
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n",
              "GET /he alth HTTP/1.1\r\nHost: 127.0.0.1\r\n",
              "BREW /health HTCPCP/1.0\r\nHost: 127.0.0.1\r\n",
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\u00ff: x\r\n");
      for (int i = 0; i < 5; i++) {
        for (String head : heads) {
          RawHttp.Answer answer = node.send(head, "");
          assertThat(answer.status()).as(head).isBetween(400, 599);
        }
      }
      assertThat(appender.list)
          .filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
          .extracting(event -> event.getLoggerName() + ": " + event.getFormattedMessage())
          .isEmpty();
    } finally {
      root.detachAppender(appender);
    }
  }
}
