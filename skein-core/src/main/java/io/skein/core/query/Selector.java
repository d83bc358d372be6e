package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.re2j.Pattern;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A parsed Mango selector in CouchDB's normal form ({@code mango_selector:normalize}): combinators
 * ({@link And}, {@link Or}) over conditions on fields ({@link Field}). {@link QueryParser} reads
 * the syntax and normalizes it; {@link InMemoryQuery#matches} is the evaluation.
 *
 * <p>The normal form has no negation above a field: {@code $not} and {@code $nor} are pushed down
 * to the conditions by De Morgan's laws, and a negated comparison becomes the opposite comparison
 * ({@code $not $gt} is {@code $lte}), as CouchDB's {@code norm_negations} does. So every condition
 * but {@code $exists: false} needs its field to be present, negated or not.
 */
public sealed interface Selector {
  /** The selector that matches every document: {@code {}}, an empty conjunction. */
  static Selector all() {
    return new And(List.of());
  }

  /**
   * Matches when every operand matches; an empty {@code And} matches every document.
   *
   * @param operands the conjuncts
   */
  record And(List<Selector> operands) implements Selector {
    /** Copies the operands. */
    public And {
      operands = List.copyOf(operands);
    }
  }

  /**
   * Matches when at least one operand matches; an empty {@code Or} matches every document, as in
   * CouchDB 3.4 and later (and so does the negation of an empty {@link And}).
   *
   * @param operands the disjuncts
   */
  record Or(List<Selector> operands) implements Selector {
    /** Copies the operands. */
    public Or {
      operands = List.copyOf(operands);
    }
  }

  /**
   * Matches when the field is present and the condition holds for its value; when the field is
   * missing, only {@code $exists: false} holds.
   *
   * @param path the field; {@code null} for the value itself, as inside {@code $elemMatch}
   * @param condition the condition on its value
   */
  record Field(@Nullable FieldPath path, Condition condition) implements Selector {}

  /** The comparison operators, which compare by {@link Collation}. */
  enum Operator {
    /** {@code $eq}. */
    EQ("$eq"),
    /** {@code $ne}. */
    NE("$ne"),
    /** {@code $gt}. */
    GT("$gt"),
    /** {@code $gte}. */
    GTE("$gte"),
    /** {@code $lt}. */
    LT("$lt"),
    /** {@code $lte}. */
    LTE("$lte");

    private final String mangoName;

    Operator(String mangoName) {
      this.mangoName = mangoName;
    }

    /** Returns the operator as written in a selector, such as {@code $gte}. */
    public String mangoName() {
      return mangoName;
    }

    /** Returns the operator that holds exactly when this one does not (on a present field). */
    public Operator negated() {
      return switch (this) {
        case EQ -> NE;
        case NE -> EQ;
        case GT -> LTE;
        case GTE -> LT;
        case LT -> GTE;
        case LTE -> GT;
      };
    }

    /** Returns whether {@code order}, the collation of the field against the operand, holds. */
    public boolean holds(int order) {
      return switch (this) {
        case EQ -> order == 0;
        case NE -> order != 0;
        case GT -> order > 0;
        case GTE -> order >= 0;
        case LT -> order < 0;
        case LTE -> order <= 0;
      };
    }
  }

  /** A condition on the value of a present field. */
  sealed interface Condition {}

  /**
   * The field compares to the operand as the operator says, by {@link Collation}.
   *
   * @param operator the comparison
   * @param value the operand, any JSON value
   */
  record Compare(Operator operator, JsonNode value) implements Condition {}

  /**
   * {@code $in}: the field equals one of the values, or, when it is an array, one of its elements
   * does; {@code $nin} ({@code negated}) is the opposite, still on a present field.
   *
   * @param set the operands
   * @param negated whether this is {@code $nin}
   */
  record In(ValueSet set, boolean negated) implements Condition {
    /** Makes the condition from its operands. */
    public In(List<JsonNode> values, boolean negated) {
      this(ValueSet.of(values), negated);
    }

    /** Returns the operands. */
    public List<JsonNode> values() {
      return set.values();
    }
  }

  /**
   * {@code $exists}: whether the field is present (a JSON null is present).
   *
   * @param present {@code true} for {@code $exists: true}
   */
  record Exists(boolean present) implements Condition {}

  /**
   * {@code $type}: the field's type is {@code type}, one of {@link Collation#TYPES}.
   *
   * @param type the type name
   */
  record Type(String type) implements Condition {}

  /**
   * {@code $size}: the field is an array of {@code size} elements.
   *
   * @param size the length, at least 0
   */
  record Size(long size) implements Condition {}

  /**
   * {@code $mod}: the field is an integer whose remainder by {@code divisor} (with the sign of the
   * field, as Erlang's {@code rem}) is {@code remainder}.
   *
   * @param divisor not 0
   * @param remainder the remainder
   */
  record Mod(long divisor, long remainder) implements Condition {}

  /**
   * {@code $regex}: the field is a string in which the pattern (RE2 syntax) finds a match.
   *
   * @param source the pattern as written
   * @param pattern the compiled pattern
   * @param programSize its estimated program size ({@link RegexCost})
   */
  record Regex(String source, Pattern pattern, long programSize) implements Condition {}

  /**
   * {@code $beginsWith}: the field is a string starting with {@code prefix}.
   *
   * @param prefix the prefix
   */
  record BeginsWith(String prefix) implements Condition {}

  /**
   * {@code $all}: the field is an array holding an element equal to each value; also, as in
   * CouchDB, {@code [X]} with {@code X} an array matches a field equal to {@code X}, and {@code []}
   * matches nothing.
   *
   * @param set the operands
   */
  record All(ValueSet set) implements Condition {
    /** Makes the condition from its operands. */
    public All(List<JsonNode> values) {
      this(ValueSet.of(values));
    }

    /** Returns the operands. */
    public List<JsonNode> values() {
      return set.values();
    }
  }

  /**
   * {@code $elemMatch}: the field is an array with an element the selector matches.
   *
   * @param selector evaluated with the element as the document
   */
  record ElemMatch(Selector selector) implements Condition {}

  /**
   * {@code $allMatch}: the field is a non-empty array and the selector matches every element.
   *
   * @param selector evaluated with each element as the document
   */
  record AllMatch(Selector selector) implements Condition {}

  /**
   * {@code $keyMapMatch}: the field is an object with a key (a string) the selector matches.
   *
   * @param selector evaluated with the key as the document
   */
  record KeyMapMatch(Selector selector) implements Condition {}

  /**
   * The negation of a condition that has no opposite operator (such as {@code $regex}); it still
   * needs the field to be present.
   *
   * @param condition the negated condition
   */
  record Not(Condition condition) implements Condition {}
}
