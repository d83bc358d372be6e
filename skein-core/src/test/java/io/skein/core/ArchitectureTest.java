package io.skein.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The core stays pure: no storage, network, logging or node code (forbidden-apis does the rest).
 */
class ArchitectureTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.skein.core");

  @Test
  void coreDependsOnNoShellLibraries() {
    noClasses()
        .that()
        .resideInAPackage("io.skein.core..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "java.sql..",
            "java.net..",
            "java.nio.file..",
            "java.nio.channels..",
            "org.slf4j..",
            "io.javalin..",
            "org.eclipse.jetty..",
            "io.micrometer..",
            "org.sqlite..")
        .check(CORE);
  }

  @Test
  void coreDoesNotDependOnTheShell() {
    noClasses()
        .that()
        .resideInAPackage("io.skein.core..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.skein", "io.skein.internal..", "io.skein.node..")
        .check(CORE);
  }
}
