/*
 * json_print.h - printing JSON for people and scripts.
 *
 * Owns: the one way todoke's tools print a JSON document on stdout
 * (json-glib, indented, one trailing newline).
 */
#ifndef TODOKE_JSON_PRINT_H
#define TODOKE_JSON_PRINT_H

#include <json-glib/json-glib.h>

/* Prints the document the builder holds. */
void json_print_builder(JsonBuilder *builder);

#endif
