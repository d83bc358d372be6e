package io.skein.node;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code datastore-node members add|remove}: leader-mode membership changes through the admin API
 * ({@code POST /admin/members}, {@code DELETE /admin/members/{id}}). Any member may be asked: a
 * secondary answers {@code 307} with the primary's address, and the command follows it (at most
 * three hops), sending the token only to the addresses the cluster redirects it to. Exit status 0
 * when the change is done, 1 if it was refused (or is still under way: 202), 3 if no node could be
 * reached. {@code datastore-node status} shows the configuration.
 */
@Command(
    name = "members",
    mixinStandardHelpOptions = true,
    description =
        "Leader mode: adds or removes one member at a time (Raft's single-server change).",
    subcommands = {MemberCommands.Add.class, MemberCommands.Remove.class})
final class MemberCommands implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  private static final int REDIRECTS_MAX = 3;

  /** Sends a request, following {@code 307} redirects to the primary. */
  static int sendFollowing(AdminCommands.Target target, String method, String path, String body) {
    String base = target.url.replaceAll("/+$", "");
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI uri = URI.create(base + path);
    try {
      for (int hop = 0; ; hop++) {
        HttpRequest.Builder request =
            HttpRequest.newBuilder(uri)
                .timeout(Duration.ofMinutes(3))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body));
        String token = target.token();
        if (token != null) {
          request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        String location = response.headers().firstValue("Location").orElse(null);
        if (response.statusCode() == 307 && location != null && hop < REDIRECTS_MAX) {
          URI next = uri.resolve(location);
          if (!AdminCommands.Target.safeRedirect(uri, next)) {
            target
                .spec
                .commandLine()
                .getErr()
                .println(
                    "datastore-node: not following a redirect from "
                        + uri
                        + " to "
                        + next
                        + ": the admin token would leave https");
            return 1;
          }
          uri = next;
          target
              .spec
              .commandLine()
              .getErr()
              .println("datastore-node: following the primary at " + uri);
          continue;
        }
        target
            .spec
            .commandLine()
            .getOut()
            .println(response.body().isEmpty() ? "HTTP " + response.statusCode() : response.body());
        return response.statusCode() == 200 ? 0 : 1;
      }
    } catch (java.io.IOException | IllegalArgumentException e) {
      target.spec.commandLine().getErr().println("datastore-node: cannot reach " + uri + ": " + e);
      return 3;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 3;
    }
  }

  /** {@code datastore-node members add --id ID [--member-url URL]}. */
  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description =
          "Adds a node started with --role joining: it catches up as a learner, then votes."
              + " Waits until it does (at most a minute; then exit 1, the change goes on).")
  static final class Add extends AdminCommands.Target implements Callable<Integer> {
    @Option(names = "--id", required = true, description = "The new member's node id.")
    String id = "";

    @Option(
        names = "--member-url",
        description = "Where the new member listens (http://host:port), for every member to dial.")
    @Nullable String memberUrl;

    @Override
    public Integer call() {
      var json = io.skein.internal.json.Json.MAPPER.createObjectNode();
      json.put("id", id);
      if (memberUrl != null) {
        json.put("url", memberUrl);
      }
      return sendFollowing(this, "POST", "/admin/members", json.toString());
    }
  }

  /** {@code datastore-node members remove --id ID}. */
  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description =
          "Removes a member (a primary that removes itself steps down once the change commits)."
              + " Refused if the remaining members could not form a majority.")
  static final class Remove extends AdminCommands.Target implements Callable<Integer> {
    @Option(names = "--id", required = true, description = "The member's node id.")
    String id = "";

    @Override
    public Integer call() {
      return sendFollowing(
          this,
          "DELETE",
          "/admin/members/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20"),
          "");
    }
  }
}
