/**
 * The configuration model (DESIGN.md D6, D13): settings declared once in a catalog, layered
 * sources, resolution with every problem reported, and the diff a reload acts on. Pure: sources are
 * read by the shell and come in as {@link io.skein.core.config.ConfigLayer}s.
 */
@NullMarked
package io.skein.core.config;

import org.jspecify.annotations.NullMarked;
