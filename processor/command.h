/*
 * command.h - the staff command language.
 */
#ifndef TODOKE_COMMAND_H
#define TODOKE_COMMAND_H
#endif
