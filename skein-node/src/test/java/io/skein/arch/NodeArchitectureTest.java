package io.skein.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The node's layering (docs/ARCHITECTURE.md "Packages and layers"), enforced so it does not rest on
 * memory:
 *
 * <ul>
 *   <li>the layers only depend downwards: node (components, CLI) &gt; http &gt; config &gt;
 *       transport &gt; store (the embedded API {@code io.skein} and its {@code internal.engine,
 *       storage, query, json} implementation) &gt; runtime and events;
 *   <li>no package cycles inside {@code internal} or {@code node};
 *   <li>only the runtime ({@code Threads}) creates threads.
 * </ul>
 */
class NodeArchitectureTest {
  private static final JavaClasses NODE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.skein")
          .that(
              com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackages(
                  "io.skein.testkit..", "io.skein.core.."));

  @Test
  void layersOnlyDependDownwards() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("Node")
        .definedBy("io.skein.node")
        .layer("Http")
        .definedBy("io.skein.node.http..")
        .layer("Config")
        .definedBy("io.skein.node.config..")
        .layer("Transport")
        .definedBy("io.skein.internal.transport..")
        .layer("Store")
        .definedBy(
            "io.skein",
            "io.skein.internal.engine..",
            "io.skein.internal.storage..",
            "io.skein.internal.query..",
            "io.skein.internal.json..")
        .layer("Runtime")
        .definedBy("io.skein.internal.runtime..", "io.skein.internal.events..")
        .whereLayer("Node")
        .mayNotBeAccessedByAnyLayer()
        .whereLayer("Http")
        .mayOnlyBeAccessedByLayers("Node")
        .whereLayer("Config")
        .mayOnlyBeAccessedByLayers("Node", "Http")
        .whereLayer("Transport")
        .mayOnlyBeAccessedByLayers("Node", "Http")
        .whereLayer("Store")
        .mayOnlyBeAccessedByLayers("Node", "Http", "Config", "Transport")
        .check(NODE);
  }

  @Test
  void runtimeAndEventsKnowNothingOfTheStoreOrTheNode() {
    noClasses()
        .that()
        .resideInAnyPackage("io.skein.internal.runtime..", "io.skein.internal.events..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.skein",
            "io.skein.internal.engine..",
            "io.skein.internal.storage..",
            "io.skein.internal.transport..",
            "io.skein.internal.json..",
            "io.skein.node..")
        .check(NODE);
  }

  @Test
  void noPackageCycles() {
    slices().matching("io.skein.internal.(*)..").should().beFreeOfCycles().check(NODE);
    slices().matching("io.skein.node.(*)..").should().beFreeOfCycles().check(NODE);
  }

  @Test
  void onlyTheRuntimeCreatesThreads() {
    DescribedPredicate<JavaCall<?>> createsThread =
        DescribedPredicate.describe(
            "create a thread or an executor",
            call -> {
              String owner = call.getTargetOwner().getName();
              String name = call.getName();
              return owner.equals(Thread.class.getName())
                      && (name.equals("<init>")
                          || name.equals("ofPlatform")
                          || name.equals("ofVirtual")
                          || name.equals("startVirtualThread"))
                  || owner.equals(java.util.concurrent.Executors.class.getName())
                  || owner.equals(java.util.Timer.class.getName()) && name.equals("<init>");
            });
    noClasses()
        .that()
        .doNotHaveFullyQualifiedName("io.skein.internal.runtime.Threads")
        .should()
        .callCodeUnitWhere(createsThread)
        .check(NODE);
  }
}
