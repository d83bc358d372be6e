package io.skein.node;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
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

  /** Sends a request, following {@code 307} redirects to the primary; only 200 succeeds. */
  static int sendFollowing(AdminCommands.Target target, String method, String path, String body) {
    return target.send(method, path, body, REDIRECTS_MAX, true);
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
