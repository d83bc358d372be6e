package io.skein.core.replica;

/**
 * The answer to one {@link Input.Propose}.
 *
 * @param requestId the id the shell gave the proposal
 * @param outcome how it ended
 */
public record Reply(long requestId, Outcome outcome) {}
