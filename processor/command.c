/*
 * command.c - the staff command language (see command.h).
 */
#include "command.h"
